/**
 * Runs in every test file before its tests (vitest setupFiles). Its afterAll is registered
 * first, so it runs after the file's own afterAll hooks (they run in reverse order): the
 * servers a file started are stopped before the directories they wrote in go.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/net.js';

afterAll(removeTempDirs);
