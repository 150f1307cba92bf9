/** Bundle entry: every workflow the workers register. */
export * from './health';
export * from './ingest';
export * from './egress';
export * from './failover';
export * from './replicate';
export * from './promote';
export * from './fork';
export * from './maintain';
