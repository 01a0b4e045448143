// The root package.json maps `#platformatic-kafka` here. Node refuses an "imports" target inside a
// node_modules folder, so this module re-exports the client as resolved from test/clients/.
export * from '@platformatic/kafka';
