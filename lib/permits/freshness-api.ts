/** `90m`, `36h`, `7d`: how old a Backup's newest good snapshot may be (spec.freshness). */
export const FRESHNESS_PATTERN = '^[1-9][0-9]{0,5}(m|h|d)$';
export const FRESHNESS_FORMS = 'a duration in whole minutes, hours or days, e.g. "90m", "36h" or "2d"';
export const FRESHNESS_MAX_LENGTH = 8;
