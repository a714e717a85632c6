//! `regex.match` with each compiled expression kept whole, per thread.
//!
//! regorus keeps compiled expressions in a cache but hands out clones of them, and a clone
//! of a `regex::Regex` starts with an empty match cache: every `regex.match` built its lazy
//! DFA again (about 7% of a decision with no findings, more on an image with a long
//! environment or history). This extension takes the builtin's place (regorus looks up
//! extensions before builtins) and decides as the builtin does: the same regex crate and
//! compilation (regorus's size limit), a boolean for two strings, an error for anything
//! else and for an expression that does not compile (gate's engines run with strict
//! builtin errors, under which regorus's builtin fails the evaluation the same way).
//!
//! What a thread keeps is bounded: 128 expressions (regorus's own cache holds 256),
//! each with a lazy DFA cache of at most 256 KiB per direction instead of the regex
//! crate's 2 MiB. A policy that builds expressions from the input cannot make a worker
//! keep more than about 80 MiB per thread (caches and compiled programs); with the
//! crate's default, 90 such expressions grew a process by 250 MB (the test
//! `tests/unit/test_native_regex.py` keeps this). The limit changes no answer: a lazy
//! DFA that fills its cache starts over or lets another of the crate's engines finish.

use std::cell::RefCell;
use std::collections::HashMap;

use anyhow::{bail, Result};
use regex::{Regex, RegexBuilder};
use regorus::Value;

/// regorus's `REGEX_SIZE_LIMIT`: a larger compiled expression is an error.
const SIZE_LIMIT: usize = 100 * 1024;
/// The lazy DFA cache each kept expression may grow to (per search direction).
const DFA_CACHE_LIMIT: usize = 256 * 1024;
/// Compiled expressions kept per thread; a policy set holds a few dozen. Past this (the
/// patterns come from the input), the thread's cache starts over.
const CAPACITY: usize = 128;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// The builtin's name, for `regorus::Engine::add_extension`.
pub const NAME: &str = "regex.match";
pub const ARGUMENTS: u8 = 2;

/// `regex.match(pattern, value)`.
pub fn regex_match(arguments: Vec<Value>) -> Result<Value> {
    let (pattern, value) = match arguments.as_slice() {
        [Value::String(pattern), Value::String(value)] => (pattern.clone(), value.clone()),
        [pattern, value] => {
            let wrong = if matches!(pattern, Value::String(_)) {
                value
            } else {
                pattern
            };
            bail!("`{NAME}` expects string argument. Got `{wrong}` instead")
        }
        _ => bail!("`{NAME}` expects {ARGUMENTS} arguments"),
    };
    COMPILED.with(|cell| {
        let mut compiled = cell.borrow_mut();
        if let Some(expression) = compiled.get(pattern.as_ref()) {
            return Ok(Value::Bool(expression.is_match(&value)));
        }
        let expression = compile(&pattern)?;
        let matched = expression.is_match(&value);
        if compiled.len() >= CAPACITY {
            compiled.clear();
        }
        compiled.insert(pattern.to_string(), expression);
        Ok(Value::Bool(matched))
    })
}

fn compile(pattern: &str) -> Result<Regex> {
    RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_CACHE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                anyhow::anyhow!(
                    "regex size limit exceeded: the compiled expression is over {SIZE_LIMIT} bytes"
                )
            }
            _ => anyhow::anyhow!("invalid regex: {e}"),
        })
}
