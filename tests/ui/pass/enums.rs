use gengc::{Gc, Trace};

#[derive(Trace)]
enum Expr {
    Nil,
    Number(f64),
    Add(Gc<Expr>, Gc<Expr>),
    Call {
        function: Gc<Expr>,
        args: Vec<Gc<Expr>>,
    },
    #[gc(skip)]
    Opaque(std::fs::File),
    Labelled {
        #[gc(skip)]
        label: std::fs::File,
        body: Gc<Expr>,
    },
}

#[derive(Trace)]
enum Never {}

fn eval(expr: &Expr) -> f64 {
    match expr {
        Expr::Nil | Expr::Opaque(_) => 0.0,
        Expr::Number(n) => *n,
        Expr::Add(a, b) => eval(a) + eval(b),
        Expr::Call { function, args } => eval(function) + args.iter().map(|a| eval(a)).sum::<f64>(),
        Expr::Labelled { body, .. } => eval(body),
    }
}

fn main() {
    let one = Gc::new(Expr::Number(1.0));
    let sum = Expr::Add(one.clone(), one.clone());
    let call = Expr::Call {
        function: Gc::new(sum),
        args: vec![one, Gc::new(Expr::Nil)],
    };
    assert_eq!(eval(&call), 3.0);
    assert!(!<Never as Trace>::needs_trace());
}
