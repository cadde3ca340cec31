//! JA4D (DHCP) and JA4D6 (DHCPv6), FoxIO License 1.1:
//! `{type}{size}{i|n}{d|n}_{options}_{request list}`, e.g.
//! `disco0000in_61-55_1-3-6-42`.
//!
//! `type`: a five-letter code per message type (its number in five digits
//! when it has none), `00000` without one. `size`: four digits, capped at
//! 9999, `0000` when absent. Lists: decimal codes joined by `-`, `00` when
//! empty.

use super::{Family, Shape};
use crate::util::decimal::{push_padded, push_u64};

/// Appends the JA4D/JA4D6 of `shape` to `out`.
pub fn write(shape: &Shape, out: &mut Vec<u8>) {
    if shape.types.is_empty() {
        out.extend_from_slice(b"00000");
    }
    for &t in &shape.types {
        match type_code(shape.family, t) {
            Some(code) => out.extend_from_slice(code.as_bytes()),
            None => push_padded(out, u64::from(t), 5),
        }
    }
    if shape.sizes.is_empty() {
        out.extend_from_slice(b"0000");
    }
    for &s in &shape.sizes {
        push_padded(out, u64::from(s.min(9999)), 4);
    }
    out.push(if shape.requests_ip { b'i' } else { b'n' });
    out.push(if shape.has_fqdn { b'd' } else { b'n' });
    out.push(b'_');
    write_list(&shape.options, out);
    out.push(b'_');
    write_list(&shape.request_list, out);
}

/// The fingerprint as a string (tests, tools).
pub fn ja4d(shape: &Shape) -> String {
    let mut out = Vec::new();
    write(shape, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn write_list(items: &[u16], out: &mut Vec<u8>) {
    if items.is_empty() {
        out.extend_from_slice(b"00");
    }
    for (i, &v) in items.iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        push_u64(out, u64::from(v));
    }
}

/// FoxIO's five-letter message type codes.
fn type_code(family: Family, t: u8) -> Option<&'static str> {
    const V4: [&str; 18] = [
        "disco", "offer", "reqst", "decln", "dpack", "dpnak", "relse", "infor", "frenw", "lqery",
        "lunas", "lunkn", "lactv", "blklq", "lqdon", "actlq", "lqsta", "dhtls",
    ];
    const V6: [&str; 37] = [
        "solct", "advrt", "reqst", "confm", "renew", "rebnd", "reply", "relse", "decln", "recon",
        "inreq", "rlayf", "rlayr", "query", "qrply", "qdone", "qdata", "rereq", "rrply", "v4qry",
        "v4res", "acqry", "sttls", "bdudp", "brply", "poreq", "pores", "urqst", "ureqa", "udone",
        "conne", "connr", "dconn", "state", "conta", "arinf", "arrep",
    ];
    let table: &[&str] = match family {
        Family::V4 => &V4,
        Family::V6 => &V6,
    };
    usize::from(t)
        .checked_sub(1)
        .and_then(|i| table.get(i))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(family: Family) -> Shape {
        Shape {
            family,
            types: vec![],
            sizes: vec![],
            requests_ip: false,
            has_fqdn: false,
            options: vec![],
            request_list: vec![],
        }
    }

    #[test]
    fn empty_parts_use_placeholders() {
        assert_eq!(ja4d(&shape(Family::V4)), "000000000nn_00_00");
    }

    #[test]
    fn codes_numbers_and_caps() {
        let mut s = shape(Family::V4);
        s.types = vec![1, 0, 200];
        s.sizes = vec![576, 65535];
        s.requests_ip = true;
        s.has_fqdn = true;
        s.options = vec![61, 12];
        s.request_list = vec![1];
        assert_eq!(ja4d(&s), "disco000000020005769999id_61-12_1");
        let mut s = shape(Family::V6);
        s.types = vec![11, 37, 38];
        assert_eq!(ja4d(&s), "inreqarrep000380000nn_00_00");
    }
}
