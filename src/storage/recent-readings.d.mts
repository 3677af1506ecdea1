import type { Database } from 'better-sqlite3';

export const RECENT_CONFLICT: string;
export function recentMover(db: Database): { afterInsert(inserted: number): number };
