//! The LLM-style service's parser and (once it is wired) its behaviour over real sockets.
#![allow(dead_code)] // the service uses parts of the parser module this test does not

#[path = "../examples/llm_server/http.rs"]
mod http;
