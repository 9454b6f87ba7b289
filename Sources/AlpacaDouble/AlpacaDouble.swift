/// A loopback stand-in for Alpaca: trading REST, the trade_updates stream and the
/// v2 market data stream, with faults injected on command. For tests and demos
/// without the internet.
public enum AlpacaDouble {}
