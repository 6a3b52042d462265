// danfojs-node requires "@tensorflow/tfjs-node", whose install downloads libtensorflow from outside npm.
// This stand-in hands danfo the project's pure-JS/WebAssembly TensorFlow.js instead, so both share one engine.
// It registers no "tensorflow" backend: lib/src/engine sees that and never mistakes it for the native binding.
module.exports = require("@tensorflow/tfjs");
