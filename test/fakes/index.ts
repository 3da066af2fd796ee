// Local HTTP fakes of the external APIs, for integration tests and benchmarks.
export * from './http-fake';
export * from './notion';
export * from './hubspot';
export * from './n8n';
export * from './telegram';
export * from './salesmsg';
export * from './twilio';
