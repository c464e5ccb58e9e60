//! A tiny Scheme whose environments form cycles.
//!
//! A closure captures the environment it was made in, and `define` stores
//! closures in environments: every named function is a cycle (environment
//! → closure → environment), and so is every call frame that defines a
//! local function. Reference counting frees none of those; the
//! generational collector frees them while the program runs.
//!
//! Run it with `cargo run --release --example interpreter`.

use gengc::gc::{self, CallbackPhase};
use gengc::{Gc, Snapshot, Trace};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// Source code, parsed: plain data, no `Gc` inside.
#[derive(Debug)]
enum Expr {
    Int(i64),
    Bool(bool),
    Symbol(String),
    List(Vec<Expr>),
}

/// A runtime value.
#[derive(Clone, Trace)]
enum Value {
    Int(i64),
    Bool(bool),
    Closure(Gc<Closure>),
    Builtin(#[gc(skip)] Builtin),
    Unit,
}

/// A function of the host: plain code, no `Gc` inside.
type Builtin = fn(&[Value]) -> Result<Value, String>;

/// A `lambda`: parameters, body, and the environment it closes over.
#[derive(Trace)]
struct Closure {
    params: Vec<String>,
    /// The code is shared plain data: nothing for the collector to see.
    #[gc(skip)]
    body: Rc<[Expr]>,
    env: Gc<Env>,
}

/// A scope: its variables, and the scope it is nested in.
#[derive(Trace)]
struct Env {
    vars: RefCell<HashMap<String, Value>>,
    parent: Option<Gc<Env>>,
}

impl Env {
    fn new(parent: Option<Gc<Env>>) -> Gc<Env> {
        ENVS_CREATED.with(|n| n.set(n.get() + 1));
        Gc::new(Env {
            vars: RefCell::new(HashMap::new()),
            parent,
        })
    }

    fn lookup(env: &Gc<Env>, name: &str) -> Result<Value, String> {
        let mut scope = env.clone();
        loop {
            if let Some(v) = scope.vars.borrow().get(name) {
                return Ok(v.clone());
            }
            scope = match &scope.parent {
                Some(p) => p.clone(),
                None => return Err(format!("unbound variable `{name}`")),
            };
        }
    }

    fn set(env: &Gc<Env>, name: &str, value: Value) -> Result<(), String> {
        let mut scope = env.clone();
        loop {
            if let Some(slot) = scope.vars.borrow_mut().get_mut(name) {
                *slot = value;
                return Ok(());
            }
            scope = match &scope.parent {
                Some(p) => p.clone(),
                None => return Err(format!("set! of unbound variable `{name}`")),
            };
        }
    }
}

thread_local! {
    static ENVS_CREATED: Cell<usize> = const { Cell::new(0) };
    static OUTPUT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{}", if *b { "#t" } else { "#f" }),
            Value::Closure(c) => write!(f, "#<lambda ({})>", c.params.join(" ")),
            Value::Builtin(_) => write!(f, "#<builtin>"),
            Value::Unit => write!(f, "#<unit>"),
        }
    }
}

// ---- reading ----

fn parse(src: &str) -> Result<Vec<Expr>, String> {
    let spaced = src.replace('(', " ( ").replace(')', " ) ");
    let mut tokens = spaced
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .peekable();
    let mut program = Vec::new();
    while tokens.peek().is_some() {
        program.push(parse_expr(&mut tokens)?);
    }
    Ok(program)
}

fn parse_expr<'a, I: Iterator<Item = &'a str>>(
    tokens: &mut std::iter::Peekable<I>,
) -> Result<Expr, String> {
    match tokens.next().ok_or("unexpected end of input")? {
        "(" => {
            let mut items = Vec::new();
            loop {
                match tokens.peek() {
                    Some(&")") => {
                        tokens.next();
                        return Ok(Expr::List(items));
                    }
                    None => return Err("missing `)`".into()),
                    Some(_) => items.push(parse_expr(tokens)?),
                }
            }
        }
        ")" => Err("unexpected `)`".into()),
        "#t" => Ok(Expr::Bool(true)),
        "#f" => Ok(Expr::Bool(false)),
        t => Ok(t
            .parse()
            .map_or_else(|_| Expr::Symbol(t.to_string()), Expr::Int)),
    }
}

// ---- evaluation ----

fn eval(expr: &Expr, env: &Gc<Env>) -> Result<Value, String> {
    match expr {
        Expr::Int(n) => Ok(Value::Int(*n)),
        Expr::Bool(b) => Ok(Value::Bool(*b)),
        Expr::Symbol(s) => Env::lookup(env, s),
        Expr::List(items) => match items.as_slice() {
            [] => Ok(Value::Unit),
            [Expr::Symbol(s), rest @ ..] if is_special(s) => eval_special(s, rest, env),
            [f, args @ ..] => {
                let f = eval(f, env)?;
                let args = args
                    .iter()
                    .map(|a| eval(a, env))
                    .collect::<Result<Vec<_>, _>>()?;
                apply(&f, &args)
            }
        },
    }
}

fn is_special(s: &str) -> bool {
    matches!(s, "define" | "lambda" | "if" | "set!" | "begin")
}

fn eval_special(form: &str, rest: &[Expr], env: &Gc<Env>) -> Result<Value, String> {
    match (form, rest) {
        // (define (name params...) body...)
        ("define", [Expr::List(head), body @ ..]) => {
            let (name, params) = head.split_first().ok_or("empty define")?;
            let closure = make_closure(params, body, env)?;
            env.vars.borrow_mut().insert(symbol(name)?, closure);
            Ok(Value::Unit)
        }
        ("define", [Expr::Symbol(name), value]) => {
            let v = eval(value, env)?;
            env.vars.borrow_mut().insert(name.clone(), v);
            Ok(Value::Unit)
        }
        ("lambda", [Expr::List(params), body @ ..]) => make_closure(params, body, env),
        ("if", [cond, then, otherwise]) => match eval(cond, env)? {
            Value::Bool(false) => eval(otherwise, env),
            _ => eval(then, env),
        },
        ("set!", [Expr::Symbol(name), value]) => {
            let v = eval(value, env)?;
            Env::set(env, name, v)?;
            Ok(Value::Unit)
        }
        ("begin", body) => eval_body(body, env),
        _ => Err(format!("malformed `{form}`")),
    }
}

fn symbol(e: &Expr) -> Result<String, String> {
    match e {
        Expr::Symbol(s) => Ok(s.clone()),
        other => Err(format!("expected a name, got {other:?}")),
    }
}

fn make_closure(params: &[Expr], body: &[Expr], env: &Gc<Env>) -> Result<Value, String> {
    let params = params.iter().map(symbol).collect::<Result<_, _>>()?;
    // The body is re-parsed into shared storage once per `lambda`
    // evaluation; a real interpreter would share the parsed tree.
    let body: Rc<[Expr]> = body.iter().map(clone_expr).collect();
    Ok(Value::Closure(Gc::new(Closure {
        params,
        body,
        env: env.clone(),
    })))
}

fn clone_expr(e: &Expr) -> Expr {
    match e {
        Expr::Int(n) => Expr::Int(*n),
        Expr::Bool(b) => Expr::Bool(*b),
        Expr::Symbol(s) => Expr::Symbol(s.clone()),
        Expr::List(items) => Expr::List(items.iter().map(clone_expr).collect()),
    }
}

fn eval_body(body: &[Expr], env: &Gc<Env>) -> Result<Value, String> {
    let mut last = Value::Unit;
    for e in body {
        last = eval(e, env)?;
    }
    Ok(last)
}

fn apply(f: &Value, args: &[Value]) -> Result<Value, String> {
    match f {
        Value::Builtin(b) => b(args),
        Value::Closure(c) => {
            if c.params.len() != args.len() {
                return Err(format!(
                    "expected {} arguments, got {}",
                    c.params.len(),
                    args.len()
                ));
            }
            let frame = Env::new(Some(c.env.clone()));
            frame
                .vars
                .borrow_mut()
                .extend(c.params.iter().cloned().zip(args.iter().cloned()));
            eval_body(&c.body, &frame)
        }
        other => Err(format!("{other} is not a function")),
    }
}

// ---- builtins ----

fn ints(args: &[Value]) -> Result<Vec<i64>, String> {
    args.iter()
        .map(|a| match a {
            Value::Int(n) => Ok(*n),
            other => Err(format!("expected a number, got {other}")),
        })
        .collect()
}

fn global_env() -> Gc<Env> {
    let env = Env::new(None);
    let builtins: [(&str, Builtin); 6] = [
        ("+", |a| Ok(Value::Int(ints(a)?.iter().sum()))),
        ("*", |a| Ok(Value::Int(ints(a)?.iter().product()))),
        ("-", |a| match ints(a)?.as_slice() {
            [x] => Ok(Value::Int(-x)),
            [x, rest @ ..] => Ok(Value::Int(x - rest.iter().sum::<i64>())),
            [] => Err("-: no arguments".into()),
        }),
        ("=", |a| match ints(a)?.as_slice() {
            [x, y] => Ok(Value::Bool(x == y)),
            _ => Err("=: two arguments".into()),
        }),
        ("<", |a| match ints(a)?.as_slice() {
            [x, y] => Ok(Value::Bool(x < y)),
            _ => Err("<: two arguments".into()),
        }),
        ("print", |a| {
            let line = a.iter().map(Value::to_string).collect::<Vec<_>>().join(" ");
            println!("  > {line}");
            OUTPUT.with(|o| o.borrow_mut().push(line));
            Ok(Value::Unit)
        }),
    ];
    for (name, f) in builtins {
        env.vars
            .borrow_mut()
            .insert(name.to_string(), Value::Builtin(f));
    }
    env
}

const PROGRAM: &str = r#"
; A counter: the closure keeps its defining frame (and `n`) alive.
(define (make-counter)
  (define n 0)
  (lambda () (set! n (+ n 1)) n))
(define tick (make-counter))
(tick) (tick)
(print (tick))

; Recursion through the global environment: global -> fib -> global.
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(print (fib 20))

; Mutual recursion.
(define (even? n) (if (= n 0) #t (odd? (- n 1))))
(define (odd? n) (if (= n 0) #f (even? (- n 1))))
(print (even? 300) (odd? 300))

; Every call of `adder` makes a frame holding a local function that holds
; the frame: one garbage cycle per call once `add` has been used.
(define (adder k)
  (define (add x) (+ x k))
  add)
(define (sum-with-adders i acc)
  (if (= i 0) acc (sum-with-adders (- i 1) ((adder i) acc))))
(print (sum-with-adders 800 0))
(define (repeat n thunk) (if (= n 0) 0 (begin (thunk) (repeat (- n 1) thunk))))
(repeat 20 (lambda () (sum-with-adders 800 0)))
"#;

fn main() {
    let started = std::time::Instant::now();
    let collections = Rc::new(Cell::new(0usize));
    let seen = collections.clone();
    gc::add_callback(move |phase, _| {
        if phase == CallbackPhase::Stop {
            seen.set(seen.get() + 1);
        }
    });

    let program = parse(PROGRAM).expect("the program parses");
    let global = global_env();
    let before = Snapshot::take();
    let collected_before: usize = gc::stats().iter().map(|s| s.collected).sum();
    println!("running {} top-level forms:", program.len());
    for form in &program {
        if let Err(e) = eval(form, &global) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
    let out = OUTPUT.with(|o| o.borrow().clone());
    assert_eq!(out, ["3", "6765", "#t #f", "320400"]);

    let collected: usize =
        gc::stats().iter().map(|s| s.collected).sum::<usize>() - collected_before;
    println!(
        "\n{} environments were created; {} automatic collections freed {} objects while the program ran",
        ENVS_CREATED.with(Cell::get),
        collections.get(),
        collected
    );
    println!("what the heap holds now, against before the run:");
    for d in Snapshot::take().compare_to(&before) {
        if d.objects_diff != 0 {
            println!("  {d}");
        }
    }
    let freed = gengc::collect();
    println!("collect() frees the {freed} objects of the cycles made since the last collection; what survives:");
    for d in Snapshot::take().compare_to(&before) {
        if d.objects_diff != 0 {
            println!("  {d}");
        }
    }

    drop(global);
    println!(
        "dropping the global environment leaves its function cycles; collect() frees {}, leaving {} objects",
        gengc::collect(),
        gengc::type_stats().objects()
    );
    println!("done in {:.2?}", started.elapsed());
}
