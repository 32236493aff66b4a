//! The `process_*` metrics of Go's process collector (client_golang
//! `process_collector.go`), read from `/proc` at each scrape, so that the upstream's
//! dashboards of CPU, memory and descriptors keep working. Linux only; elsewhere
//! nothing is printed.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug, Default)]
pub struct ProcessCollector;

impl ProcessCollector {
    pub fn new() -> ProcessCollector {
        ProcessCollector
    }
}

/// One reading of the process, each value `None` when it cannot be read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reading {
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
    pub virtual_memory: Option<f64>,
    pub virtual_memory_max: Option<f64>,
    pub resident_memory: Option<f64>,
    pub start_time: Option<f64>,
    pub network_receive: Option<f64>,
    pub network_transmit: Option<f64>,
}

#[cfg(target_os = "linux")]
pub fn read() -> Reading {
    use procfs::process::{LimitValue, Process};
    let Ok(me) = Process::myself() else {
        return Reading::default();
    };
    let mut r = Reading::default();
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second() as f64;
        r.cpu_seconds = Some((stat.utime + stat.stime) as f64 / ticks);
        r.virtual_memory = Some(stat.vsize as f64);
        r.resident_memory = Some(stat.rss as f64 * procfs::page_size() as f64);
        if let Ok(boot) = procfs::boot_time_secs() {
            r.start_time = Some(boot as f64 + stat.starttime as f64 / ticks);
        }
    }
    r.open_fds = me.fd_count().ok().map(|n| n as f64);
    if let Ok(limits) = me.limits() {
        let value = |v: LimitValue| match v {
            LimitValue::Value(n) => n as f64,
            // Go prints the unlimited value as the largest uint64.
            LimitValue::Unlimited => u64::MAX as f64,
        };
        r.max_fds = Some(value(limits.max_open_files.soft_limit));
        r.virtual_memory_max = Some(value(limits.max_address_space.soft_limit));
    }
    if let Ok(devices) = me.dev_status() {
        r.network_receive = Some(devices.values().map(|d| d.recv_bytes as f64).sum());
        r.network_transmit = Some(devices.values().map(|d| d.sent_bytes as f64).sum());
    }
    r
}

#[cfg(not(target_os = "linux"))]
pub fn read() -> Reading {
    Reading::default()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let r = read();
        let counters = [
            (
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                r.cpu_seconds,
            ),
            (
                "process_network_receive_bytes",
                "Number of bytes received by the process over the network.",
                r.network_receive,
            ),
            (
                "process_network_transmit_bytes",
                "Number of bytes sent by the process over the network.",
                r.network_transmit,
            ),
        ];
        for (name, help, value) in counters {
            if let Some(v) = value {
                let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
                ConstCounter::new(v).encode(metric)?;
            }
        }
        let gauges = [
            (
                "process_open_fds",
                "Number of open file descriptors.",
                r.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                r.max_fds,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                r.virtual_memory,
            ),
            (
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
                r.virtual_memory_max,
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                r.resident_memory,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                r.start_time,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                ConstGauge::new(v).encode(metric)?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let r = read();
        assert!(r.resident_memory.unwrap() > 1e6, "{r:?}");
        assert!(r.open_fds.unwrap() >= 3.0, "{r:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = r.start_time.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
    }
}
