//! Placeholder: the preprocessor is being written (includes, conditionals,
//! parameters, sequences).
