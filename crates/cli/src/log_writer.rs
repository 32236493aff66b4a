//! The thread that writes the log. A request formats its line and queues it; this
//! thread gathers what arrives for a couple of milliseconds and writes it with one
//! system call.
//!
//! tracing-appender's writer thread (used before) writes as soon as its queue is
//! empty, which under load is after nearly every line: one `write` and one wake-up of
//! the thread per request, a tenth of the cost of a small answer over TLS
//! (docs/PERFORMANCE.md, "Access log"). Gathering bounds the delay of a line to
//! [`GATHER`] and makes the writes per second independent of the request rate.
//!
//! Limits: at most [`QUEUE_LINES`] lines wait (about 75 MB of 600-byte access
//! lines); when the queue is full, requests wait for room rather than drop lines.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the thread gathers lines after the first one before writing them.
const GATHER: Duration = Duration::from_millis(2);
/// Lines that may wait to be written.
const QUEUE_LINES: usize = 128_000;
/// A batch is written out as soon as it holds this many bytes.
const BATCH_BYTES: usize = 256 * 1024;
/// How long dropping the guard waits for the queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

enum Message {
    Line(Vec<u8>),
    /// Write everything queued before this, then answer.
    Flush(SyncSender<()>),
}

/// Where the log's formatter writes: each `write` queues one line.
pub struct LogQueue {
    queue: SyncSender<Message>,
}

impl Write for &LogQueue {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        // Waits while the queue is full.
        self.queue
            .send(Message::Line(line.to_vec()))
            .map_err(|_| io::Error::other("the log writer thread has stopped"))?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogQueue {
    type Writer = &'a LogQueue;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Dropping it writes the lines still queued. (The thread itself lives as long as
/// the process: the global subscriber keeps a [`LogQueue`].)
pub struct WriterGuard {
    queue: SyncSender<Message>,
    _thread: JoinHandle<()>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let (done, written) = sync_channel(1);
        if self.queue.send(Message::Flush(done)).is_ok() {
            // A stuck output (a full pipe nobody reads) must not hang the exit.
            let _ = written.recv_timeout(FLUSH_WAIT);
        }
    }
}

/// Starts the thread that writes queued lines to `out`.
pub fn spawn<W: Write + Send + 'static>(out: W) -> io::Result<(LogQueue, WriterGuard)> {
    let (queue, lines) = sync_channel(QUEUE_LINES);
    let thread = thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(lines, out))?;
    let guard = WriterGuard {
        queue: queue.clone(),
        _thread: thread,
    };
    Ok((LogQueue { queue }, guard))
}

fn write_batches<W: Write>(lines: Receiver<Message>, mut out: W) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    // Blocks while the log is quiet; wakes for the first line of a batch.
    while let Ok(first) = lines.recv() {
        let mut answer = take(first, &mut batch);
        if answer.is_none() {
            // Lines queued while this thread sleeps wake nobody.
            thread::sleep(GATHER);
        }
        while let Ok(message) = lines.try_recv() {
            if let Some(done) = take(message, &mut batch) {
                answer.get_or_insert(done);
            }
            if batch.len() >= BATCH_BYTES {
                write_out(&mut out, &mut batch);
            }
        }
        write_out(&mut out, &mut batch);
        if let Some(done) = answer {
            let _ = done.send(());
        }
    }
    write_out(&mut out, &mut batch);
}

/// Adds a line to the batch, or returns who asked for a flush.
fn take(message: Message, batch: &mut Vec<u8>) -> Option<SyncSender<()>> {
    match message {
        Message::Line(line) => {
            batch.extend_from_slice(&line);
            None
        }
        Message::Flush(done) => Some(done),
    }
}

/// Writes the batch and empties it. A failed write (stderr closed) loses those
/// lines: there is nowhere left to report it.
fn write_out<W: Write>(out: &mut W, batch: &mut Vec<u8>) {
    if !batch.is_empty() {
        let _ = out.write_all(batch).and_then(|()| out.flush());
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records each `write` call separately.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_queued_together_are_written_together_and_in_order() {
        let writes = Writes::default();
        let (queue, guard) = spawn(writes.clone()).unwrap();
        for i in 0..1000 {
            writeln!(&queue, "line {i}").unwrap();
        }
        drop(guard);
        let calls = writes.0.lock().unwrap().clone();
        let text: String = calls.iter().map(|c| String::from_utf8_lossy(c)).collect();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert!(calls.len() < 10, "{} writes for 1000 lines", calls.len());
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_more() {
        let writes = Writes::default();
        let (queue, _guard) = spawn(writes.clone()).unwrap();
        writeln!(&queue, "hello").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while writes.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(writes.0.lock().unwrap()[0], b"hello\n");
    }
}
