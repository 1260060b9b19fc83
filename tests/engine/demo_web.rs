#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo's web real servers on loopback, as a client and a health
//! check see them: the reference deployment's page, keep-alive and pipelining, and
//! `service httpd stop` / `start` (refused while stopped, back after).

use crate::support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use lvstop::demo::WebServer;

/// A free port on `ip` (bound and released; the tests use addresses of
/// their own in 127.0.0.0/8, so nothing else takes it in between).
fn free_addr(last: u8) -> SocketAddr {
    support::free_addr(Ipv4Addr::new(127, 0, 61, last))
}

/// Sends `request` raw and reads until the server closes.
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_reads_the_seeds_page_and_closes() {
    let addr = free_addr(1);
    let mut server = WebServer::start("rs1", addr).await.unwrap();
    let answer = tokio::task::spawn_blocking(move || exchange(addr, b"GET / HTTP/1.0\r\n\r\n"))
        .await
        .unwrap();
    // hyper answers an HTTP/1.0 request in HTTP/1.0.
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nThis is test rs1\n"), "{answer}");
    assert_eq!(server.pages_served(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_keep_alive_requests_are_answered_in_order_until_close() {
    let addr = free_addr(2);
    let mut server = WebServer::start("rs2", addr).await.unwrap();
    let requests = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\
                     HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n\
                     GET /missing HTTP/1.1\r\nHost: x\r\n\r\n\
                     GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\
                     GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = tokio::task::spawn_blocking(move || exchange(addr, requests))
        .await
        .unwrap();
    let statuses: Vec<&str> = answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &answer[i + 9..i + 12])
        .collect();
    // The request after the closing one is not answered.
    assert_eq!(statuses, ["200", "200", "404", "200"], "{answer}");
    assert_eq!(answer.matches("This is test rs2\n").count(), 2, "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_head_gets_431() {
    let addr = free_addr(3);
    let mut server = WebServer::start("rs1", addr).await.unwrap();
    let mut request = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    request.resize(20_000, b'a');
    request.extend_from_slice(b"\r\n\r\n");
    let answer = tokio::task::spawn_blocking(move || exchange(addr, &request))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_refuses_new_connections_and_closes_open_ones_then_start_brings_it_back() {
    let addr = free_addr(4);
    let mut server = WebServer::start("rs1", addr).await.unwrap();
    assert!(server.is_running());

    // An open keep-alive connection with one answer read.
    let mut open = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("This is test rs1\n"));
        s
    })
    .await
    .unwrap();
    while server.open_connections() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    server.stop().await;
    assert!(!server.is_running());
    assert_eq!(server.open_connections(), 0);
    let (refused, open) = tokio::task::spawn_blocking(move || {
        let refused = TcpStream::connect(addr).map(|_| ()).unwrap_err().kind();
        // The server closed our connection: end of stream (or a reset).
        let mut buf = [0u8; 16];
        let closed = match open.read(&mut buf) {
            Ok(0) => true,
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
            Ok(_) => false,
        };
        (refused, closed)
    })
    .await
    .unwrap();
    assert_eq!(refused, ErrorKind::ConnectionRefused);
    assert!(open, "the open connection was not closed by stop");

    server.start_again().await.unwrap();
    assert!(server.is_running());
    let answer = tokio::task::spawn_blocking(move || exchange(addr, b"GET / HTTP/1.0\r\n\r\n"))
        .await
        .unwrap();
    assert!(answer.ends_with("This is test rs1\n"), "{answer}");
    server.stop().await;
}
