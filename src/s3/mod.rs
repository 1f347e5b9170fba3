//! The S3 protocol: typed operations, parsing a request head into one, XML documents, errors, and
//! response rendering.

pub mod conditions;
pub mod denial;
pub mod docs;
pub mod error;
#[cfg(test)]
pub(crate) mod fuzz_tests;
pub mod lifecycle;
pub mod op;
pub mod parse;
pub mod respond;
pub mod xml;
