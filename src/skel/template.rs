//! The minijinja set-up both skeleton renderers share: strict about undefined values, block
//! tags leave no blank lines, the trailing newline kept.

use crate::error::{Error, Result};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// Renders template `source` (called `name` in error messages) with `context`.
pub fn render(name: &str, source: &str, context: Value) -> Result<String> {
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
    env.add_template(name, source).map_err(|e| failed(&e))?;
    let template = env.get_template(name).map_err(|e| failed(&e))?;
    template.render(context).map_err(|e| failed(&e))
}
