//! The read side for browsers and reports: the server's query tables of the documents it
//! stores ([`rows`], written with every commit), what the JSON API answers from them
//! ([`queries`], scoped as pulls are) and its routes ([`http`]). Writes a browser makes go
//! through the push path ([`crate::service::Core::write_as`]), so they pass the checks a
//! device's change passes.

pub mod http;
pub mod queries;
pub mod rows;
