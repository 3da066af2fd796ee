/** The namespaces the test dev server creates; each test file claims one. */
export const TEST_NAMESPACES = Array.from({ length: 160 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
