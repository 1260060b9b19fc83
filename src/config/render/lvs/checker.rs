//! Renders one checker block and its kind's options.

use super::{flag, number, rest, text, timing, Writer};
use crate::config::model::lvs::{Checker, CheckerKind, Connection, HttpCheck, Url};

pub(super) fn render(writer: &mut Writer, checker: &Checker) {
    writer.open(&[checker.kind.value.keyword()]);
    connection(writer, &checker.connection);
    timing(writer, &checker.timing);
    flag(writer, "log_all_failures", checker.log_all_failures);
    match &checker.kind.value {
        CheckerKind::Tcp | CheckerKind::Ping => {}
        CheckerKind::Http(http) | CheckerKind::Ssl(http) => self::http(writer, http),
        CheckerKind::Smtp(smtp) => {
            text(writer, "helo_name", &smtp.helo_name);
            for host in &smtp.hosts {
                writer.open(&["host"]);
                connection(writer, &host.value);
                writer.close();
            }
        }
        CheckerKind::Dns(dns) => {
            text(writer, "type", &dns.query_type);
            text(writer, "name", &dns.name);
        }
        CheckerKind::Misc(misc) => {
            if let Some(path) = &misc.path {
                writer.line(&[
                    "misc_path".to_string(),
                    crate::config::render::script_command(path),
                ]);
            }
            number(writer, "misc_timeout", misc.timeout);
            flag(writer, "misc_dynamic", misc.dynamic);
            if let Some(user) = &misc.user {
                let mut words = vec!["user", user.value.as_str()];
                words.extend(misc.group.as_ref().map(|g| g.value.as_str()));
                writer.line(&words);
            }
        }
        CheckerKind::Bfd(bfd) => text(writer, "name", &bfd.name),
        CheckerKind::Udp(udp) => {
            rest(writer, "payload", &udp.payload);
            if let Some(reply) = &udp.require_reply {
                let mut words = vec!["require_reply"];
                if let Some(hex) = &reply.value {
                    words.extend(hex.split(' '));
                }
                writer.line(&words);
            }
            number(writer, "min_reply_length", udp.min_reply_length);
            number(writer, "max_reply_length", udp.max_reply_length);
        }
        CheckerKind::File(file) => {
            text(writer, "track_file", &file.track_file);
            if let Some(weight) = file.weight {
                let mut words = vec!["weight".to_string(), weight.value.to_string()];
                if file.reverse {
                    words.push("reverse".to_string());
                }
                writer.line(&words);
            }
        }
    }
    for setting in &checker.other {
        writer.raw(setting);
    }
    writer.close();
}

fn connection(writer: &mut Writer, c: &Connection) {
    if let Some(ip) = c.connect_ip {
        writer.line(&["connect_ip".to_string(), ip.value.to_string()]);
    }
    number(writer, "connect_port", c.connect_port);
    if let Some(ip) = c.bindto {
        writer.line(&["bindto".to_string(), ip.value.to_string()]);
    }
    text(writer, "bind_if", &c.bind_if);
    number(writer, "bind_port", c.bind_port);
    number(writer, "fwmark", c.fwmark);
}

fn http(writer: &mut Writer, http: &HttpCheck) {
    if let Some(p) = http.http_protocol {
        writer.line(&["http_protocol", p.value.as_str()]);
    }
    text(writer, "virtualhost", &http.virtualhost);
    flag(writer, "fast_recovery", http.fast_recovery);
    flag(writer, "enable_sni", http.enable_sni);
    for u in &http.urls {
        url(writer, u);
    }
}

fn url(writer: &mut Writer, url: &Url) {
    writer.open(&["url"]);
    rest(writer, "path", &url.path);
    text(writer, "digest", &url.digest);
    if !url.status_codes.is_empty() {
        let mut words = vec!["status_code".to_string()];
        for range in &url.status_codes {
            let r = range.value;
            words.push(if r.first == r.last {
                r.first.to_string()
            } else {
                format!("{}-{}", r.first, r.last)
            });
        }
        writer.line(&words);
    }
    text(writer, "virtualhost", &url.virtualhost);
    rest(writer, "regex", &url.regex);
    flag(writer, "regex_no_match", url.regex_no_match);
    if !url.regex_options.is_empty() {
        let mut words = vec!["regex_options"];
        words.extend(url.regex_options.iter().map(|o| o.value.as_str()));
        writer.line(&words);
    }
    if let Some(stack) = url.regex_stack {
        let (start, max) = stack.value;
        let mut words = vec!["regex_stack".to_string(), start.to_string()];
        words.extend(max.map(|m| m.to_string()));
        writer.line(&words);
    }
    number(writer, "regex_min_offset", url.regex_min_offset);
    number(writer, "regex_max_offset", url.regex_max_offset);
    writer.close();
}
