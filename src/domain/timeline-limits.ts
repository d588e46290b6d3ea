/**
 * Limits of the live timeline shared by ingest (which refuses more) and the timeline store (which
 * relies on them to keep window queries on a tight index range).
 */

/** The longest segment accepted, in milliseconds. */
export const MAX_SEGMENT_MS = 5 * 60_000;
