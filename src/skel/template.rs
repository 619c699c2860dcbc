//! The minijinja set-up both skeleton renderers share: strict about undefined values, block
//! tags leave no blank lines, the trailing newline kept.

use crate::error::{Error, Result};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// Renders template `source` (called `name` in error messages) with `context`.
pub fn render(name: &str, source: &str, context: Value) -> Result<String> {
    render_with(name, source, &[], context)
}

/// Renders template `source` like [`render`], with `imports` (name, source) available to its
/// `{% import %}` tags.
pub fn render_with(
    name: &str,
    source: &str,
    imports: &[(&str, &str)],
    context: Value,
) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| Error::environment(format!("template {name}: {e}"));
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| failed(&e))?;
    env.set_syntax(syntax);
    env.add_filter("length", length);
    for (import, import_source) in imports {
        env.add_template(import, import_source)
            .map_err(|e| failed(&e))?;
    }
    env.add_template(name, source).map_err(|e| failed(&e))?;
    let template = env.get_template(name).map_err(|e| failed(&e))?;
    template.render(context).map_err(|e| failed(&e))
}

/// The template value of `data`. minijinja is built without its serde support and builtin
/// filters (a build.rs compiles less, and sooner: it no longer waits for serde), so models reach
/// the templates through JSON's data model.
pub fn value_of<T: Serialize>(data: &T) -> Value {
    from_json(serde_json::to_value(data).expect("skeleton models serialize to JSON"))
}

fn from_json(json: serde_json::Value) -> Value {
    use serde_json::Value as Json;
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            (None, None) => Value::from(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::from(s),
        Json::Array(items) => Value::from(items.into_iter().map(from_json).collect::<Vec<_>>()),
        Json::Object(fields) => Value::from(
            fields
                .into_iter()
                .map(|(name, field)| (name, from_json(field)))
                .collect::<std::collections::BTreeMap<String, Value>>(),
        ),
    }
}

/// The one builtin filter the templates use: the number of items of a list.
fn length(value: &Value) -> std::result::Result<usize, minijinja::Error> {
    value.len().ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot take the length of {}", value.kind()),
        )
    })
}
