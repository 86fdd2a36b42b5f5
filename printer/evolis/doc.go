// Package evolis drives Evolis card printers (Pebble, Dualys, Quantum,
// Primacy, Zenius family) through their ESC…CR command language.
package evolis
