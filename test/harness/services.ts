/** The tests start the same local services as the demo (deploy/local-services.ts). */
export * from '../../deploy/local-services';
