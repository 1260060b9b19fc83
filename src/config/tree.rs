//! The syntax tree: statements and `{ … }` blocks, before any keyword has a
//! meaning.
//!
//! keepalived.conf is line oriented: a statement is a keyword and its
//! arguments on one line; a `{` at the end of a statement (or alone on the
//! next line) opens a block of further statements, closed by `}`. Several
//! statements may share a line when braces separate them
//! (`virtual_ipaddress { 10.0.0.1 }`). This module builds that structure and
//! reports unbalanced braces; it knows no keywords.

use super::diagnostic::{Diagnostic, Diagnostics};
use super::lexer;
use super::source::Location;
use super::token::{SourceLine, Token};

/// One statement: `keyword arg arg … [{ children }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub keyword: Token,
    pub args: Vec<Token>,
    pub block: Option<Block>,
}

impl Node {
    pub fn name(&self) -> &str {
        &self.keyword.text
    }

    pub fn at(&self) -> Location {
        self.keyword.at
    }

    /// The children of the block, or an empty slice when there is none.
    pub fn children(&self) -> &[Node] {
        self.block.as_ref().map_or(&[], |b| b.children.as_slice())
    }
}

/// The contents of a `{ … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Location,
    pub children: Vec<Node>,
}

/// Builds the tree from preprocessed lines. Unbalanced braces are reported;
/// the tree is still returned so later stages can say more.
pub fn build(lines: &[SourceLine], diagnostics: &mut Diagnostics) -> Vec<Node> {
    let mut builder = Builder::default();
    let mut tokens = Vec::new();
    for line in lines {
        tokens.clear();
        lexer::tokenize(line, &mut tokens, diagnostics);
        builder.line(&mut tokens, diagnostics);
    }
    builder.finish(diagnostics)
}

/// Convenience for tests and tools: tree of a single in-memory text, without
/// preprocessing.
pub fn build_str(text: &str, diagnostics: &mut Diagnostics) -> Vec<Node> {
    let file = super::source::FileId(0);
    let lines: Vec<SourceLine> = text
        .lines()
        .enumerate()
        .map(|(i, l)| SourceLine::verbatim(l, file, u32::try_from(i + 1).unwrap_or(u32::MAX)))
        .collect();
    build(&lines, diagnostics)
}

#[derive(Debug, Default)]
struct Builder {
    /// Open blocks: the statement that owns each, innermost last.
    stack: Vec<Node>,
    top: Vec<Node>,
    /// A statement without a block that a `{` on a following line may still
    /// claim (keepalived accepts the brace on its own line).
    pending_brace_owner: bool,
}

impl Builder {
    fn children_mut(&mut self) -> &mut Vec<Node> {
        match self.stack.last_mut() {
            Some(node) => &mut node.block.get_or_insert_with(empty_block).children,
            None => &mut self.top,
        }
    }

    fn line(&mut self, tokens: &mut Vec<Token>, diagnostics: &mut Diagnostics) {
        let mut statement: Vec<Token> = Vec::new();
        let mut first_on_line = true;
        for token in tokens.drain(..) {
            if token.is_open_brace() {
                if statement.is_empty() {
                    if first_on_line && self.pending_brace_owner {
                        self.reopen_last(token.at);
                    } else {
                        diagnostics.push(
                            Diagnostic::error("stray-brace", "'{' without a keyword to open")
                                .spanning(token.at, 1)
                                .with_help("put the block's keyword before '{'"),
                        );
                        // Keep nesting balanced: an anonymous block.
                        self.stack.push(Node {
                            keyword: Token {
                                text: Default::default(),
                                ..token.clone()
                            },
                            args: Vec::new(),
                            block: Some(Block {
                                open: token.at,
                                children: Vec::new(),
                            }),
                        });
                    }
                } else {
                    let node = make_node(std::mem::take(&mut statement), Some(token.at));
                    self.stack.push(node);
                }
                self.pending_brace_owner = false;
                first_on_line = false;
            } else if token.is_close_brace() {
                if !statement.is_empty() {
                    let node = make_node(std::mem::take(&mut statement), None);
                    self.children_mut().push(node);
                }
                self.close(token.at, diagnostics);
                self.pending_brace_owner = false;
                first_on_line = false;
            } else {
                statement.push(token);
            }
        }
        if !statement.is_empty() {
            let node = make_node(statement, None);
            self.children_mut().push(node);
            self.pending_brace_owner = true;
        }
    }

    /// `{` alone on a line: the previous statement owns the block.
    fn reopen_last(&mut self, open: Location) {
        let last = self.children_mut().pop();
        if let Some(mut node) = last {
            node.block = Some(Block {
                open,
                children: Vec::new(),
            });
            self.stack.push(node);
        }
    }

    fn close(&mut self, at: Location, diagnostics: &mut Diagnostics) {
        match self.stack.pop() {
            Some(node) => {
                if node.keyword.text.is_empty() {
                    // An anonymous block from a stray '{': its statements are
                    // kept at the enclosing level so they are still checked.
                    let children = node.block.map(|b| b.children).unwrap_or_default();
                    self.children_mut().extend(children);
                } else {
                    self.children_mut().push(node);
                }
            }
            None => diagnostics.push(
                Diagnostic::error("unbalanced-brace", "'}' closes no block")
                    .spanning(at, 1)
                    .with_help("remove it, or look for a missing '{' above"),
            ),
        }
    }

    fn finish(mut self, diagnostics: &mut Diagnostics) -> Vec<Node> {
        while let Some(node) = self.stack.pop() {
            let open = node.block.as_ref().map_or(node.keyword.at, |b| b.open);
            diagnostics.push(
                Diagnostic::error(
                    "unclosed-block",
                    format!("block '{}' is never closed", node.keyword.text),
                )
                .spanning(open, 1)
                .with_help("add the missing '}'"),
            );
            self.children_mut().push(node);
        }
        self.top
    }
}

fn empty_block() -> Block {
    Block {
        open: Location::default(),
        children: Vec::new(),
    }
}

fn make_node(mut statement: Vec<Token>, open: Option<Location>) -> Node {
    let keyword = statement.remove(0);
    Node {
        keyword,
        args: statement,
        block: open.map(|open| Block {
            open,
            children: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| {
                let mut s = n.keyword.text.to_string();
                for a in &n.args {
                    s.push(' ');
                    s.push_str(&a.text);
                }
                if let Some(b) = &n.block {
                    s.push_str(&format!(" [{}]", shape(&b.children)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn tree(text: &str) -> (String, Diagnostics) {
        let mut d = Diagnostics::new();
        let nodes = build_str(text, &mut d);
        (shape(&nodes), d)
    }

    #[test]
    fn nested_blocks_and_one_line_blocks() {
        let (s, d) = tree(
            "vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n}\n",
        );
        assert!(d.is_empty());
        assert_eq!(
            s,
            "vrrp_instance VI_1 [state MASTER; virtual_ipaddress [10.0.0.1 10.0.0.2]]"
        );
    }

    #[test]
    fn brace_on_its_own_line_opens_the_previous_statement() {
        let (s, d) = tree("global_defs\n{\n router_id X\n}\n");
        assert!(d.is_empty());
        assert_eq!(s, "global_defs [router_id X]");
    }

    #[test]
    fn unbalanced_braces_are_errors_with_locations() {
        let (_, d) = tree("global_defs {\n router_id X\n");
        let first = d.iter().next().unwrap();
        assert_eq!(first.code, "unclosed-block");
        assert_eq!(first.location.unwrap().line, 1);
        let (_, d) = tree("}\n");
        assert_eq!(d.iter().next().unwrap().code, "unbalanced-brace");
    }

    #[test]
    fn several_closers_on_one_line() {
        let (s, d) = tree("a {\n b {\n c 1 } }\n d\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(s, "a [b [c 1]]; d");
    }
}
