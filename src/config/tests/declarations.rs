//! The declarations are the whole truth about the variables: the configuration reads no other
//! name, and the README's configuration table lists the same names with the same defaults, in
//! the same order.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::lookup;
use crate::config::variable::WhenUnset;
use crate::config::{variables, Config};

const README: &str = include_str!("../../../README.md");

/// `(name, default)` for each variable of the README's configuration table, in order. A row
/// may group variables: `` | `HOST`, `PORT` | `127.0.0.1`, `8000` | … | ``.
fn readme_table() -> Vec<(String, String)> {
    let section = README
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README.md has a \"## Configuration\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rows = Vec::new();
    for line in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_start_matches("| ").split(" | ").collect();
        let names: Vec<&str> = cells[0].split(", ").collect();
        let defaults: Vec<&str> = cells
            .get(1)
            .map_or(vec![], |cell| cell.split(", ").collect());
        assert_eq!(
            names.len(),
            defaults.len(),
            "one default per variable in the README row {line:?}"
        );
        for (name, default) in names.into_iter().zip(defaults) {
            rows.push((name.trim_matches('`').to_owned(), default.to_owned()));
        }
    }
    rows
}

/// The README's row for each declared variable, to paste (then say more in the meaning).
fn expected_table() -> String {
    variables()
        .map(|variable| {
            format!(
                "| `{}` | {} | {} |\n",
                variable.name,
                variable.readme_default(),
                variable.help
            )
        })
        .collect()
}

#[test]
fn the_readme_configuration_table_matches_the_declarations() {
    let declared: Vec<(String, String)> = variables()
        .map(|variable| (variable.name.to_owned(), variable.readme_default()))
        .collect();
    assert_eq!(
        readme_table(),
        declared,
        "README.md's configuration table (left) disagrees with the declarations in \
         src/config/ (right): a default is written `in backticks` when it is a value, in plain \
         words when unset means something else. The declared rows:\n{}",
        expected_table()
    );
}

#[test]
fn every_variable_read_is_declared_and_every_declared_one_is_read() {
    let read = RefCell::new(BTreeSet::new());
    let env = lookup(&[]);
    Config::from_lookup(|name| {
        read.borrow_mut().insert(name.to_owned());
        env(name)
    })
    .expect("the defaults are accepted");
    let declared: BTreeSet<String> = variables()
        .map(|variable| variable.name.to_owned())
        // Read by the logger, before the configuration.
        .filter(|name| name != "RUST_LOG")
        // Read only for the providers OAUTH_PROVIDERS names (none by default).
        .filter(|name| !name.contains("<NAME>") && !name.starts_with("OAUTH_GITHUB_"))
        .collect();
    assert_eq!(read.into_inner(), declared);
}

#[test]
fn unset_defaults_are_words_and_value_defaults_are_not_blank() {
    for variable in variables() {
        match variable.default {
            WhenUnset::Value(value) => assert!(!value.trim().is_empty(), "{variable:?}"),
            WhenUnset::Means(words) => assert!(!words.contains('`'), "{variable:?}"),
        }
        assert!(
            !variable.help.contains('\n'),
            "one --help line: {variable:?}"
        );
    }
}
