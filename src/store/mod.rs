//! Storage: the sled catalog (`meta`) and the bytes (`blob`).

pub mod blob;
pub mod capacity;
pub mod error;
pub mod listed;
pub mod locks;
pub mod meta;
pub mod rebuild;
pub mod records;

pub use blob::{BlobStore, BlobWriter};
pub use error::{StoreError, StoreResult};
pub use meta::{Catalog, VersionEntry};
pub use records::{BlobRef, BucketRecord, PartRef, VersionRecord};
