//! Renders address, route and rule lines.

use super::super::global::pair;
use super::super::Writer;
use crate::config::model::vrrp::{Route, Rule, VirtualAddress};

pub fn addresses(writer: &mut Writer, addresses: &[VirtualAddress]) {
    for vip in addresses {
        let mut words = vec![match vip.prefix {
            Some(prefix) => format!("{}/{prefix}", vip.address.value),
            None => vip.address.value.to_string(),
        }];
        pair(&mut words, "brd", vip.broadcast.as_ref());
        pair(&mut words, "dev", vip.dev.as_ref().map(|d| &d.value));
        pair(&mut words, "scope", vip.scope.as_ref());
        pair(&mut words, "label", vip.label.as_ref());
        pair(&mut words, "peer", vip.peer.as_ref());
        let flags = [
            ("home", vip.home),
            ("-nodad", vip.nodad),
            ("mngtmpaddr", vip.mngtmpaddr),
            ("noprefixroute", vip.noprefixroute),
            ("autojoin", vip.autojoin),
            ("no_track", vip.no_track),
        ];
        words.extend(
            flags
                .iter()
                .filter(|(_, on)| *on)
                .map(|(w, _)| w.to_string()),
        );
        pair(&mut words, "track_group", vip.track_group.as_ref());
        pair(&mut words, "preferred_lft", vip.preferred_lft.as_ref());
        if let Some(name) = &vip.use_vmac {
            words.push("use_vmac".into());
            words.extend(name.clone());
        }
        writer.line(&words);
    }
}

pub fn routes(writer: &mut Writer, routes: &[Route]) {
    for route in routes {
        let mut words: Vec<String> = route.route_type.iter().cloned().collect();
        words.push(route.destination.value.clone());
        pair(&mut words, "src", route.src);
        pair(&mut words, "via", route.via);
        pair(&mut words, "dev", route.dev.as_ref());
        pair(&mut words, "scope", route.scope.as_ref());
        pair(&mut words, "table", route.table.as_ref());
        pair(&mut words, "metric", route.metric);
        words.extend(route.options.iter().cloned());
        if route.no_track {
            words.push("no_track".into());
        }
        pair(&mut words, "track_group", route.track_group.as_ref());
        writer.line(&words);
    }
}

pub fn rules(writer: &mut Writer, rules: &[Rule]) {
    for rule in rules {
        let mut words = Vec::new();
        pair(&mut words, "from", rule.from.as_ref());
        pair(&mut words, "to", rule.to.as_ref());
        pair(&mut words, "table", rule.table.as_ref());
        pair(&mut words, "preference", rule.preference);
        words.extend(rule.options.iter().cloned());
        if rule.no_track {
            words.push("no_track".into());
        }
        pair(&mut words, "track_group", rule.track_group.as_ref());
        writer.line(&words);
    }
}
