import type { Database } from 'better-sqlite3';

export const LAST_WRITE_WINS: string;
export function recentMover(db: Database): { afterInsert(inserted: number): number };
