/** The topic id a response names when there is none: topic ids are not served yet. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
