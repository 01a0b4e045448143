import { statfsSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { CertificateExpiry } from './certificate-expiry.js';
import type { ScrapeSources } from './scrape-sources.js';

/**
 * Most consumer-lag series one scrape reports. Groups are bounded (groupMaxGroups) and so are their
 * committed offsets (the per-principal offset byte bounds), but their product can be large: a scrape
 * stops reading committed offsets at this many series (bounding its time on the event loop too), and
 * `parapet_consumer_group_lag_truncated` says it did.
 */
export const MAX_LAG_SERIES = 10_000;

/**
 * Gauges whose values are read from the broker's objects when Prometheus scrapes, not kept up to date
 * on every append: each scrape costs one pass over the open partitions (at most maxPartitions), one
 * over the committed offsets (at most {@link MAX_LAG_SERIES} reported), a stat of each certificate
 * file and a statfs of the data directory.
 */
export function registerScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry];
  const partitionLabels = ['topic', 'partition'] as const;
  // Collectors that set other gauges are registered before them: a scrape collects in registration order.
  // One pass serves the four partition gauges: the others report what it read.
  new Gauge({
    name: 'parapet_partitions_open',
    help: 'Partition logs open now (a partition opens on its first use, or at the start when it holds data)',
    registers,
    collect() {
      endOffset.reset();
      startOffset.reset();
      size.reset();
      let open = 0;
      let offline = 0;
      for (const p of sources.partitions()) {
        const labels = { topic: p.id.topic, partition: String(p.id.partition) };
        endOffset.set(labels, Number(p.logEndOffset));
        startOffset.set(labels, Number(p.logStartOffset));
        size.set(labels, p.sizeBytes);
        open++;
        if (p.offline !== null) offline++;
      }
      offlineCount.set(offline);
      this.set(open);
    },
  });

  const endOffset = new Gauge({ name: 'parapet_partition_log_end_offset', help: 'One past the last offset of each open partition (its high watermark)', labelNames: partitionLabels, registers });
  const startOffset = new Gauge({ name: 'parapet_partition_log_start_offset', help: 'The first offset still in each open partition (retention moves it)', labelNames: partitionLabels, registers });
  const size = new Gauge({ name: 'parapet_partition_size_bytes', help: 'Bytes of the segment files of each open partition', labelNames: partitionLabels, registers });
  const offlineCount = new Gauge({ name: 'parapet_partitions_offline', help: 'Partitions offline after a failed fsync (they serve nothing until a restart)', registers });

  new Gauge({
    name: 'parapet_consumer_group_lag',
    help: "Messages a consumer group has yet to consume in a partition: the log end offset minus the group's committed offset",
    labelNames: ['group', 'topic', 'partition'],
    registers,
    collect() {
      this.reset();
      let reported = 0;
      let stopped = false;
      for (const c of sources.committedOffsets()) {
        // A partition not opened since the start has an unknown end: no series rather than a wrong one.
        const end = sources.logEndOffset(c.topic, c.partition);
        if (end === undefined || c.offset < 0n) continue;
        if (reported >= MAX_LAG_SERIES) {
          stopped = true;
          break;
        }
        const lag = end > c.offset ? Number(end - c.offset) : 0;
        this.set({ group: c.group, topic: c.topic, partition: String(c.partition) }, lag);
        reported++;
      }
      truncated.set(stopped ? 1 : 0);
    },
  });

  const truncated = new Gauge({ name: 'parapet_consumer_group_lag_truncated', help: `1 when the last scrape stopped at ${MAX_LAG_SERIES} consumer lag series and left the rest out`, registers });

  const expiry = new CertificateExpiry();
  new Gauge({
    name: 'parapet_certificate_expiry_timestamp_seconds',
    help: 'When each certificate in use expires, in seconds since the epoch (read again when its file changes)',
    labelNames: ['certificate'],
    registers,
    collect() {
      this.reset();
      for (const { name, file } of sources.certificates()) {
        const notAfter = expiry.notAfter(file);
        if (notAfter !== undefined) this.set({ certificate: name }, notAfter);
      }
    },
  });

  new Gauge({
    name: 'parapet_data_dir_available_bytes',
    help: "Bytes of the data directory's file system available to the broker",
    registers,
    collect() {
      try {
        const fs = statfsSync(sources.dataDir);
        this.set(fs.bavail * fs.bsize);
        capacity.set(fs.blocks * fs.bsize);
      } catch {
        // The directory is gone or unreadable: readiness reports it; no value rather than a wrong one.
      }
    },
  });
  const capacity = new Gauge({ name: 'parapet_data_dir_capacity_bytes', help: "Size of the data directory's file system", registers });
}
