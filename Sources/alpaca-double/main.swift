import AlpacaDouble

print("alpaca-double: not yet wired")
