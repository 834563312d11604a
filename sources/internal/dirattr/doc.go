// Package dirattr decodes directory attributes that are binary on the
// wire — GUIDs, SIDs, certificates, photos — on purpose, so that no source
// ever passes raw bytes to the mapper as broken text. sources/ldapsource
// (live reads) and sources/ldifsource (fixtures) share it, so an LDIF export
// of a directory yields the Records a live read would.
package dirattr
