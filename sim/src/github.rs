//! The simulated GitHub REST API (filled in with monitor and recover).

use crate::wire::{Request, Response};
use crate::State;

#[derive(Default)]
pub(crate) struct GitHub {}

#[derive(Debug, Clone)]
pub struct Issue {}
#[derive(Debug, Clone)]
pub struct Run {}
#[derive(Debug, Clone)]
pub struct Job {}

pub(crate) fn api(_state: &mut State, _request: &Request) -> Response {
    Response::error(404, "not_found", "Not Found")
}
