//! gate's binding to the regorus Rego interpreter.
//!
//! regorus's own Python binding keeps the GIL while it evaluates, so the images of one
//! admission review run one after another in a worker however many threads it has. This
//! binding evaluates with the GIL released: each thread keeps its own engine (gate's
//! embedded engine already does), and the threads of a worker use every core.
//! Semantics are regorus's defaults (Rego v1, strict builtin errors), as in its binding.
//! The input is the JSON text (`eval_rule`) or the Python document itself
//! (`eval_rule_document`, converted without JSON text in between, see `document.rs`).
//! `regex.match` keeps its compiled expressions whole per thread (`regex_match.rs`).
//! An evaluation can be given a wall-clock limit (`seconds`): past it, regorus stops at its
//! next step and the call raises `TimeLimitExceeded`. `copy()` hands an engine's compiled
//! policies to another thread.

mod document;
mod output;
mod regex_match;

use std::num::NonZeroU32;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{LimitError, Value};

use document::{to_value, Converted, Unconvertible};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn runtime_error(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

pyo3::create_exception!(
    gate_regorus,
    TimeLimitExceeded,
    pyo3::exceptions::PyRuntimeError,
    "The evaluation ran longer than the time it was given."
);

/// A regorus engine: policies and data are added once, then rules evaluated per input.
#[pyclass(module = "gate_regorus")]
struct Engine {
    inner: regorus::Engine,
}

#[pymethods]
impl Engine {
    #[new]
    fn new() -> PyResult<Self> {
        let mut inner = regorus::Engine::new();
        inner
            .add_extension(
                regex_match::NAME.to_string(),
                regex_match::ARGUMENTS,
                Box::new(regex_match::regex_match),
            )
            .map_err(runtime_error)?;
        Ok(Engine { inner })
    }

    /// A copy that shares this engine's parsed and compiled policies and its data
    /// (regorus keeps them behind atomic reference counts), for another thread: it costs
    /// a fraction of adding the policies again, in time and in memory. Evaluations on the
    /// two are independent; a copy of a copy is as good. Copy an engine that was
    /// evaluated once, so that its policies are compiled for evaluation already.
    fn copy(&self) -> Engine {
        Engine { inner: self.inner.clone() }
    }

    /// Add a policy module; returns its package (`data.x.y`). ValueError when it does
    /// not parse.
    fn add_policy(&mut self, path: String, source: String) -> PyResult<String> {
        self.inner.add_policy(path, source).map_err(value_error)
    }

    /// Merge a JSON document into the data. ValueError on bad JSON or a conflict.
    fn add_data_json(&mut self, data_json: &str) -> PyResult<()> {
        let data = Value::from_json_str(data_json).map_err(value_error)?;
        self.inner.add_data(data).map_err(value_error)
    }

    /// `rule` (e.g. `data.gate.main.decision`) on the input `input_json`: its value as
    /// JSON text, or None when it is undefined. The GIL is released while it runs.
    /// RuntimeError when the evaluation fails (a builtin error, a conflict) or runs longer
    /// than `seconds` (wall clock; regorus checks it between steps, not inside a builtin).
    #[pyo3(signature = (rule, input_json, seconds=None))]
    fn eval_rule(
        &mut self,
        py: Python<'_>,
        rule: String,
        input_json: &str,
        seconds: Option<f64>,
    ) -> PyResult<Option<String>> {
        limit_time(&mut self.inner, seconds)?;
        let engine = &mut self.inner;
        py.detach(move || {
            let input = Value::from_json_str(input_json).map_err(value_error)?;
            match evaluate(engine, rule, input)? {
                Value::Undefined => Ok(None),
                value => value.to_json_str().map(Some).map_err(runtime_error),
            }
        })
    }

    /// As `eval_rule`, on a document of dicts, lists, tuples, strings, ints, floats,
    /// booleans and None, converted to regorus values directly (no JSON text): it
    /// decides as `eval_rule` on `json.dumps(document)`. `Unconvertible` for anything
    /// else (a non-string key, NaN, an int beyond 64 bits, another type, deep nesting):
    /// the caller takes the JSON path, which knows what JSON makes of it. The value
    /// comes back as Python objects (what `json.loads` makes of `eval_rule`'s text), or
    /// None when it is undefined. `seconds` as for `eval_rule`.
    #[pyo3(signature = (rule, document, seconds=None))]
    fn eval_rule_document<'py>(
        &mut self,
        py: Python<'py>,
        rule: String,
        document: &Bound<'py, PyAny>,
        seconds: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        limit_time(&mut self.inner, seconds)?;
        let input = to_value(document)?;
        let engine = &mut self.inner;
        match py.detach(move || evaluate(engine, rule, input))? {
            Value::Undefined => Ok(py.None().into_bound(py)),
            value => output::to_python(py, &value),
        }
    }
}

/// Steps of the interpreter between two looks at the clock: a look costs about 25 ns, a
/// step at least 200.
const STEPS_PER_CHECK: u32 = 64;

/// The next evaluations stop with an error after `seconds` (none: no limit). ValueError
/// for a negative or non-finite limit.
fn limit_time(engine: &mut regorus::Engine, seconds: Option<f64>) -> PyResult<()> {
    match seconds {
        None => engine.clear_execution_timer_config(),
        Some(s) => {
            let limit = Duration::try_from_secs_f64(s).map_err(value_error)?;
            engine.set_execution_timer_config(ExecutionTimerConfig {
                limit,
                check_interval: NonZeroU32::new(STEPS_PER_CHECK).expect("a positive constant"),
            });
        }
    }
    Ok(())
}

/// `rule` on `input`: its value (Undefined when undefined).
fn evaluate(engine: &mut regorus::Engine, rule: String, input: Value) -> PyResult<Value> {
    // A panic in regorus is an evaluation that failed (gate denies), never an
    // exception Python code does not expect (PanicException is a BaseException).
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        engine.set_input(input);
        engine.eval_rule(rule)
    }));
    match outcome {
        Ok(result) => result.map_err(evaluation_error),
        Err(_) => Err(runtime_error("regorus panicked while evaluating")),
    }
}

/// A failed evaluation as RuntimeError, or TimeLimitExceeded when it ran out of time.
fn evaluation_error(error: anyhow::Error) -> PyErr {
    let timed_out = error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(LimitError::TimeLimitExceeded { .. })));
    if timed_out {
        TimeLimitExceeded::new_err(error.to_string())
    } else {
        runtime_error(error)
    }
}

#[pymodule]
fn gate_regorus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Converted>()?;
    m.add("Unconvertible", m.py().get_type::<Unconvertible>())?;
    m.add("TimeLimitExceeded", m.py().get_type::<TimeLimitExceeded>())?;
    Ok(())
}
