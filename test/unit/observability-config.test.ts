import { loadConfig } from '../../src/config';
import { tracesUrl } from '../../src/observability/tracing';

describe('observability settings', () => {
  test('defaults: info logs, no traces, worker metrics on 0.0.0.0:9464', () => {
    const c = loadConfig({});
    expect(c.LOG_LEVEL).toBe('info');
    expect(tracesUrl(c)).toBeUndefined();
    expect([c.WORKER_METRICS_HOST, c.WORKER_METRICS_PORT]).toEqual(['127.0.0.1', 9464]);
  });

  test('traces go to <endpoint>/v1/traces, or to the traces endpoint as given', () => {
    expect(tracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318/' }))).toBe(
      'http://otel-collector:4318/v1/traces',
    );
    expect(
      tracesUrl(
        loadConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces',
        }),
      ),
    ).toBe('http://tempo:4318/v1/traces');
  });

  test('bad values are refused naming the variable', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL="verbose"/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT="otel-collector:4318"/,
    );
    expect(() => loadConfig({ WORKER_METRICS_PORT: '70000' })).toThrow(/WORKER_METRICS_PORT="70000"/);
  });
});
