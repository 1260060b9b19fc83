//! The `:` command line's grammar: what parses into which request, and
//! the errors an operator sees for what does not.

use lvstop::ui::cmdline::{
    complete, complete_with, parse, parse_with, History, ParseError, Request,
};
use lvstop::ui::extension::ExtensionVerb;

fn addr(text: &str) -> std::net::SocketAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn every_verb_parses_with_and_without_the_optional_vip() {
    assert_eq!(
        parse("weight 192.168.100.82:80 0"),
        Ok(Request::Weight {
            service: None,
            server: addr("192.168.100.82:80"),
            weight: 0
        })
    );
    assert_eq!(
        parse("weight 192.168.100.88:80 192.168.100.82:80 3"),
        Ok(Request::Weight {
            service: Some(addr("192.168.100.88:80")),
            server: addr("192.168.100.82:80"),
            weight: 3
        })
    );
    assert_eq!(
        parse("drain [2001:db8::2]:80"),
        Ok(Request::Drain {
            service: None,
            server: addr("[2001:db8::2]:80")
        })
    );
    assert_eq!(
        parse("restore 192.168.100.88:80 192.168.100.83:80"),
        Ok(Request::Restore {
            service: Some(addr("192.168.100.88:80")),
            server: addr("192.168.100.83:80")
        })
    );
    assert_eq!(
        parse("disable 192.168.100.83:80 kernel upgrade, back at 10"),
        Ok(Request::Disable {
            addresses: vec![addr("192.168.100.83:80")],
            reason: "kernel upgrade, back at 10".into()
        })
    );
    assert_eq!(
        parse("enable 192.168.100.88:80 192.168.100.83:80"),
        Ok(Request::Enable {
            addresses: vec![addr("192.168.100.88:80"), addr("192.168.100.83:80")],
            reason: None
        })
    );
    assert_eq!(
        parse("failover VI_1 30"),
        Ok(Request::Failover {
            name: "VI_1".into(),
            hold_s: Some(30)
        })
    );
    assert_eq!(
        parse("priority VI_1 50"),
        Ok(Request::Priority {
            name: "VI_1".into(),
            priority: Some(50)
        })
    );
    assert_eq!(
        parse("priority VI_1 configured"),
        Ok(Request::Priority {
            name: "VI_1".into(),
            priority: None
        })
    );
    assert_eq!(parse("zero"), Ok(Request::Zero { service: None }));
    assert_eq!(parse("reload"), Ok(Request::Reload));
    assert_eq!(parse("apply"), Ok(Request::Apply));
    assert_eq!(parse("confirm"), Ok(Request::Confirm));
    assert_eq!(parse("q"), Ok(Request::Quit));
}

#[test]
fn mistakes_get_errors_that_quote_the_bad_value() {
    assert_eq!(parse("   "), Err(ParseError::Empty));
    assert_eq!(
        parse("drian 1.2.3.4:80").map_err(|e| e.to_string()),
        Err("unknown command 'drian' (weight, drain, restore, disable, enable, failover, priority, reload, apply, confirm, zero, q)".into())
    );
    assert_eq!(
        parse("weight 192.168.100.82:80 heavy"),
        Err(ParseError::BadWeight("heavy".into()))
    );
    assert_eq!(
        parse("weight 192.168.100.82:80 -1"),
        Err(ParseError::BadWeight("-1".into()))
    );
    assert_eq!(
        parse("weight 192.168.100.82 1"),
        Err(ParseError::BadAddress("192.168.100.82".into()))
    );
    assert_eq!(
        parse("weight 1"),
        Err(ParseError::Usage(":weight [VIP:PORT] RIP:PORT N"))
    );
    assert_eq!(
        parse("disable 192.168.100.83:80"),
        Err(ParseError::Usage(":disable [VIP:PORT] [RIP:PORT] REASON"))
    );
    assert_eq!(
        parse("failover VI_1 soon"),
        Err(ParseError::BadSeconds("soon".into()))
    );
    for bad in ["0", "255", "-3", "high"] {
        assert_eq!(
            parse(&format!("priority VI_1 {bad}")),
            Err(ParseError::BadPriority(bad.into()))
        );
    }
    assert!(parse("priority VI_1").is_err());
    assert!(parse("reload now").is_err());
}

#[test]
fn a_verb_the_host_adds_parses_into_its_words_and_completes() {
    let host = [ExtensionVerb {
        verb: "lab".into(),
        forms: vec!["stop NAME".into(), "reset".into()],
    }];
    assert_eq!(
        parse_with("lab stop rs1", &host),
        Ok(Request::Extension {
            verb: "lab".into(),
            args: vec!["stop".into(), "rs1".into()],
        })
    );
    assert_eq!(
        parse_with("lab stop", &host).map_err(|e| e.to_string()),
        Err("usage: lab stop NAME | lab reset".to_string())
    );
    assert!(matches!(
        parse("lab reset"),
        Err(ParseError::UnknownVerb(_))
    ));
    let none = |_: &str| Vec::new();
    assert_eq!(complete_with("la", &host, &none).line, "lab ");
}

#[test]
fn completion_and_history() {
    let none = |_: &str| Vec::new();
    assert_eq!(complete("we", &none).line, "weight ");
    let both = complete("re", &none);
    assert_eq!(both.line, "re");
    assert_eq!(both.candidates, ["reload", "restore"]);
    let names = |verb: &str| {
        assert_eq!(verb, "failover");
        vec!["VI_1".to_string(), "VI_2".to_string()]
    };
    assert_eq!(complete("failover V", &names).line, "failover VI_");
    let mut history = History::default();
    history.push("zero");
    history.push("reload");
    history.push("reload");
    assert_eq!(history.older(), Some("reload"));
    assert_eq!(history.older(), Some("zero"));
    assert_eq!(history.older(), Some("zero"));
    assert_eq!(history.newer(), Some("reload"));
    assert_eq!(history.newer(), None);
}
