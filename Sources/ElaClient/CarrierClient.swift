import ElaCarrier
