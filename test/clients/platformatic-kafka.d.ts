// Types for platformatic-kafka.js: those of the installed @platformatic/kafka.
export * from '@platformatic/kafka';
