using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sluice.Proxy.Observability;

/// <summary>
/// Aggregates the measurements of one <see cref="Meter"/> instance and writes them in the Prometheus text format
/// 0.0.4. Listens to that exact instance only (not to every meter named <c>Sluice</c>), so several proxies or tests in
/// one process do not see each other's numbers.
/// </summary>
/// <remarks>
/// Mapping: a Counter or ObservableCounter is a Prometheus counter whose name gets <c>_total</c> appended (unless it
/// already ends so); UpDownCounter, ObservableUpDownCounter, Gauge and ObservableGauge are gauges; a Histogram is a
/// histogram with the instrument's advised bucket boundaries (Prometheus' defaults without advice). Instrument units
/// are not appended: names carry them already. Counters and histograms keep every label set they have seen;
/// observable instruments are observed at each scrape and show exactly the label sets observed then.
/// </remarks>
public sealed partial class PrometheusExporter : IDisposable
{
    /// <summary>The Content-Type of what <see cref="WriteTo"/> writes.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private const string DroppedMetricName = "sluice_metrics_dropped_measurements_total";
    private const string CollectErrorsMetricName = "sluice_metrics_collect_errors_total";

    private static readonly double[] s_defaultBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly PrometheusExporterOptions _options;
    private readonly ILogger _logger;
    private readonly ProcessMetrics? _processMetrics;
    private readonly Lock _scrapeLock = new();
    private readonly Lock _aggregatorsLock = new();
    private readonly Dictionary<Instrument, InstrumentAggregator> _aggregators = [];
    private readonly MeterListener _listener;
    private long _collectErrors;
    private bool _disposed;

    /// <summary>Exports <paramref name="metrics"/>, with every closed-set series (bytes, rejections) present from the start at zero.</summary>
    public PrometheusExporter(SluiceMetrics metrics, PrometheusExporterOptions? options = null, ILogger<PrometheusExporter>? logger = null)
        : this((metrics ?? throw new ArgumentNullException(nameof(metrics))).Meter, options, logger) => metrics.PublishZeroSeries();

    /// <summary>Exports every instrument of <paramref name="meter"/>, those created already and those created later.</summary>
    public PrometheusExporter(Meter meter, PrometheusExporterOptions? options = null, ILogger<PrometheusExporter>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _meter = meter;
        _options = options ?? new PrometheusExporterOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxSeriesPerMetric, nameof(options));
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _processMetrics = _options.IncludeProcessMetrics ? new ProcessMetrics() : null;

        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentAggregator)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>
    /// Observes the observable instruments and writes every metric. Synchronous and non-blocking apart from
    /// serialising concurrent scrapes; give it a PipeWriter (<c>HttpResponse.BodyWriter</c>) and flush afterwards.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var writer = new Utf8TextWriter(output);
        lock (_scrapeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            InstrumentAggregator[] aggregators;
            lock (_aggregatorsLock)
            {
                aggregators = [.. _aggregators.Values];
            }

            Array.Sort(aggregators, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            Collect(aggregators);
            foreach (var aggregator in aggregators)
            {
                if (aggregator.HasSeries)
                {
                    PrometheusText.WriteHeader(writer, aggregator.Name, aggregator.Help, aggregator.Type);
                    aggregator.WriteSamples(writer);
                }
            }

            WriteExporterMetrics(writer, aggregators);
            _processMetrics?.Write(writer);
        }
    }

    /// <summary>Writes the scrape to <paramref name="output"/> (buffered, then written in one go).</summary>
    public async Task WriteToAsync(Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        WriteTo(buffer);
        await output.WriteAsync(buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>The scrape as a string (tests, the admin console).</summary>
    public string Scrape()
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        WriteTo(buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void Dispose()
    {
        lock (_scrapeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _listener.Dispose();
    }

    private static double[] BucketBoundaries(Instrument instrument)
    {
        IEnumerable<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            Histogram<short> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            Histogram<byte> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            Histogram<decimal> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b),
            _ => null,
        };
        var boundaries = advised?.Where(double.IsFinite).Distinct().Order().ToArray();
        return boundaries is { Length: > 0 } ? boundaries : s_defaultBucketBoundaries;
    }

    private static string CounterName(string name) => name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total";

    private void Collect(InstrumentAggregator[] aggregators)
    {
        foreach (var aggregator in aggregators)
        {
            if (aggregator.IsObservable)
            {
                aggregator.Clear();
            }
        }

        // The listener observes every instrument and only then throws, aggregating the callbacks' exceptions: the
        // scrape goes on with whatever was observed, because /metrics must answer even when one gauge is broken.
        try
        {
            _listener.RecordObservableInstruments();
        }
        catch (AggregateException e)
        {
            _collectErrors++;
            Log.CollectFailed(_logger, e);
        }
    }

    private void WriteExporterMetrics(Utf8TextWriter writer, InstrumentAggregator[] aggregators)
    {
        var headerWritten = false;
        foreach (var aggregator in aggregators)
        {
            if (aggregator.Dropped is var dropped and > 0)
            {
                if (!headerWritten)
                {
                    PrometheusText.WriteHeader(writer, DroppedMetricName, "Measurements dropped because their metric reached its cap on label sets.", PrometheusMetricType.Counter);
                    headerWritten = true;
                }

                var labels = new StringBuilder("{metric=\"");
                PrometheusText.AppendEscapedLabelValue(labels, aggregator.Name);
                writer.Write(DroppedMetricName);
                writer.Write(labels.Append("\"} ").ToString());
                writer.Write(dropped);
                writer.Write('\n');
            }
        }

        if (_collectErrors > 0)
        {
            PrometheusText.WriteHeader(writer, CollectErrorsMetricName, "Scrapes in which observing a gauge threw (see the log).", PrometheusMetricType.Counter);
            writer.Write(CollectErrorsMetricName);
            writer.Write(' ');
            writer.Write(_collectErrors);
            writer.Write('\n');
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        // By instance, not by name: every SluiceMetrics has a meter named "Sluice".
        if (!ReferenceEquals(instrument.Meter, _meter) || CreateAggregator(instrument) is not { } aggregator)
        {
            return;
        }

        lock (_aggregatorsLock)
        {
            foreach (var existing in _aggregators.Values)
            {
                if (existing.Name == aggregator.Name)
                {
                    Log.DuplicateMetric(_logger, aggregator.Name, instrument.Name);
                    return;
                }
            }

            _aggregators.Add(instrument, aggregator);
        }

        listener.EnableMeasurementEvents(instrument, aggregator);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        lock (_aggregatorsLock)
        {
            _aggregators.Remove(instrument);
        }
    }

    private InstrumentAggregator? CreateAggregator(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var valueType = type.GetGenericArguments()[0];
        var integer = valueType != typeof(double) && valueType != typeof(float) && valueType != typeof(decimal);
        var name = PrometheusText.MetricName(instrument.Name);
        var help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
        var max = _options.MaxSeriesPerMetric;

        // Observable instruments report current values (an observable counter its running total): last value wins.
        return definition switch
        {
            _ when definition == typeof(Counter<>) =>
                new ValueAggregator(CounterName(name), help, PrometheusMetricType.Counter, isObservable: false, sum: true, integer, max),
            _ when definition == typeof(ObservableCounter<>) =>
                new ValueAggregator(CounterName(name), help, PrometheusMetricType.Counter, isObservable: true, sum: false, integer, max),
            _ when definition == typeof(UpDownCounter<>) =>
                new ValueAggregator(name, help, PrometheusMetricType.Gauge, isObservable: false, sum: true, integer, max),
            _ when definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) =>
                new ValueAggregator(name, help, PrometheusMetricType.Gauge, isObservable: true, sum: false, integer, max),
            _ when definition == typeof(Gauge<>) =>
                new ValueAggregator(name, help, PrometheusMetricType.Gauge, isObservable: false, sum: false, integer, max),
            _ when definition == typeof(Histogram<>) =>
                new HistogramAggregator(name, help, BucketBoundaries(instrument), max),
            _ => null,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Observing metrics for a scrape failed; the scrape lacks some samples")]
        public static partial void CollectFailed(ILogger logger, Exception exception);

        [LoggerMessage(2, LogLevel.Warning, "Metric {MetricName} (instrument {InstrumentName}) is already exported by another instrument; not exporting it")]
        public static partial void DuplicateMetric(ILogger logger, string metricName, string instrumentName);
    }
}
