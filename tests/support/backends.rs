//! Real loopback backends for the userspace dataplane tests, and clients
//! that talk to them through a virtual service.
//!
//! A TCP backend greets every connection with its name and a newline, then
//! echoes what it receives; on `quit\n` it shuts its side down (so the
//! proxy sees a half-close) and on end of stream it closes. A UDP backend
//! answers every datagram with `name:payload`. Everything binds to
//! 127.0.0.0/8 addresses chosen by the test, with ephemeral ports.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// A TCP echo backend that names itself; stops on drop.
#[derive(Debug)]
pub struct TcpBackend {
    pub addr: SocketAddr,
    pub name: String,
    task: JoinHandle<()>,
}

impl TcpBackend {
    pub async fn start(ip: &str, name: &str) -> TcpBackend {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let greeting = format!("{name}\n");
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let greeting = greeting.clone();
                tokio::spawn(serve_echo(stream, greeting));
            }
        });
        TcpBackend {
            addr,
            name: name.to_string(),
            task,
        }
    }
}

async fn serve_echo(stream: TcpStream, greeting: String) {
    let (read, mut write) = stream.into_split();
    if write.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if line == b"quit\n" => {
                let _ = write.shutdown().await;
                // Keep reading until the client closes its side too.
                let mut rest = Vec::new();
                let _ = read.read_to_end(&mut rest).await;
                return;
            }
            Ok(_) => {
                if write.write_all(&line).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl TcpBackend {
    /// A plain echo server: no greeting, copies everything back, and
    /// closes its side after the client's FIN.
    pub async fn start_raw_echo(ip: &str) -> TcpBackend {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    if tokio::io::copy(&mut read, &mut write).await.is_ok() {
                        let _ = write.shutdown().await;
                    }
                });
            }
        });
        TcpBackend {
            addr,
            name: "raw-echo".to_string(),
            task,
        }
    }
}

impl Drop for TcpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A UDP backend answering `name:payload`; stops on drop.
#[derive(Debug)]
pub struct UdpBackend {
    pub addr: SocketAddr,
    pub name: String,
    task: JoinHandle<()>,
}

impl UdpBackend {
    pub async fn start(ip: &str, name: &str) -> UdpBackend {
        let socket = UdpSocket::bind((ip.parse::<IpAddr>().unwrap(), 0))
            .await
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let prefix = format!("{name}:");
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let mut reply = prefix.as_bytes().to_vec();
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, peer).await;
            }
        });
        UdpBackend {
            addr,
            name: name.to_string(),
            task,
        }
    }
}

impl Drop for UdpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client connection through a virtual service, from a chosen source
/// address, that has read the backend's greeting.
#[derive(Debug)]
pub struct Client {
    pub backend: String,
    pub local: SocketAddr,
    stream: BufReader<TcpStream>,
}

impl Client {
    pub async fn connect(from: &str, vip: SocketAddr) -> Client {
        Self::try_connect(from, vip)
            .await
            .unwrap_or_else(|e| panic!("connect {from} -> {vip}: {e}"))
    }

    /// Connect and read the greeting; an error when the connection is
    /// refused or reset before a greeting arrives.
    pub async fn try_connect(from: &str, vip: SocketAddr) -> std::io::Result<Client> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from.parse().unwrap(), 0))?;
        let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(vip))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        let local = stream.local_addr()?;
        let mut stream = BufReader::new(stream);
        let mut greeting = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read_line(&mut greeting))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Client {
            backend: greeting.trim_end().to_string(),
            local,
            stream,
        })
    }

    /// Send a line and read its echo.
    pub async fn echo(&mut self, text: &str) -> String {
        self.stream
            .get_mut()
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.stream.read_line(&mut line))
            .await
            .expect("echo timed out")
            .unwrap();
        line.trim_end().to_string()
    }

    /// Ask the backend to close its side first; returns once the FIN has
    /// reached the client.
    pub async fn backend_closes(&mut self) {
        self.stream.get_mut().write_all(b"quit\n").await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), self.stream.read_to_end(&mut rest))
            .await
            .expect("no FIN from the backend")
            .unwrap();
    }

    /// Wait until the far end closes or resets the connection.
    pub async fn wait_closed(mut self) {
        let mut rest = Vec::new();
        let read = self.stream.read_to_end(&mut rest);
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the connection stayed open")
            .ok();
    }

    /// Close the client side and wait for the connection to finish.
    pub async fn finish(mut self) {
        self.stream.get_mut().shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), self.stream.read_to_end(&mut rest)).await;
    }
}

/// Open `n` connections one after the other from the `from` addresses in
/// turn, each closed after its greeting; returns which backend answered
/// each, in order. Scheduler distribution tests build on this.
pub async fn picks(vip: SocketAddr, from: &[&str], n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let client = Client::connect(from[i % from.len()], vip).await;
        out.push(client.backend.clone());
        client.finish().await;
    }
    out
}

/// How many of `n` connections each backend answered.
pub async fn distribution(vip: SocketAddr, from: &[&str], n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for name in picks(vip, from, n).await {
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

/// Push `data` through `vip` to an echo backend while reading the echo
/// back concurrently; returns what came back once the echo's FIN arrives.
pub async fn bulk_echo(from: &str, vip: SocketAddr, data: &[u8]) -> Vec<u8> {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(vip).await.unwrap();
    let (mut read, mut write) = stream.split();
    let send = async {
        write.write_all(data).await.unwrap();
        write.shutdown().await.unwrap();
    };
    let receive = async {
        let mut back = Vec::with_capacity(data.len());
        read.read_to_end(&mut back).await.unwrap();
        back
    };
    let ((), back) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(send, receive)
    })
    .await
    .expect("bulk echo timed out");
    back
}

/// Send one datagram from `socket` and wait for the answer.
pub async fn udp_ask(socket: &UdpSocket, vip: SocketAddr, payload: &str) -> String {
    socket.send_to(payload.as_bytes(), vip).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf))
        .await
        .expect("no UDP answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A TCP_CHECK target on a thread of its own: accepts and closes every
/// connection until `stop` is set, then drops its listener, so that
/// connections are refused from then on.
pub fn accept_and_close(
    addr: std::net::Ipv4Addr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> SocketAddr {
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind((addr, 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            if let Ok((stream, _)) = listener.accept() {
                drop(stream);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    local
}

/// A backend on a thread of its own that answers every connection with
/// `reply` and closes. It can be stopped (its port then refuses
/// connections) and started again on the same address.
pub struct ReplyBackend {
    pub addr: SocketAddr,
    reply: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReplyBackend {
    pub fn tcp(ip: std::net::Ipv4Addr, name: &str) -> ReplyBackend {
        Self::with_reply(SocketAddr::from((ip, 0)), name.as_bytes().to_vec())
    }

    pub fn http(ip: std::net::Ipv4Addr, status: &str) -> ReplyBackend {
        let reply =
            format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        Self::with_reply(SocketAddr::from((ip, 0)), reply.into_bytes())
    }

    fn with_reply(addr: SocketAddr, reply: Vec<u8>) -> ReplyBackend {
        let mut backend = ReplyBackend {
            addr,
            reply: Arc::new(reply),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        backend.start();
        backend
    }

    /// Listens on `addr`; port 0 takes a port once and keeps it for
    /// every restart (no window in which another socket could take it).
    pub fn start(&mut self) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        self.addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        self.stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&self.stop);
        let reply = Arc::clone(&self.reply);
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let reply = Arc::clone(&reply);
                        std::thread::spawn(move || {
                            stream.set_nonblocking(false).ok();
                            stream
                                .set_read_timeout(Some(Duration::from_millis(200)))
                                .ok();
                            let mut buf = [0u8; 512];
                            let _ = stream.read(&mut buf);
                            let _ = stream.write_all(&reply);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// Closes the listening socket: checks see "connection refused".
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for ReplyBackend {
    fn drop(&mut self) {
        self.stop();
    }
}
