/** A phone number in E.164 form (+ country code and number, 7 to 15 digits), e.g. +15551234567. */
export const E164 = /^\+[1-9]\d{6,14}$/;
