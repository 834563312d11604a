// Package fielderr carries configuration validation errors that name the
// YAML path of the field at fault, so that one validation pass can report
// every problem at once:
//
//	jobs[corp-ad].source.ldap.base_dn: required
//
// Components validate their own block and return paths relative to it; the
// config loader prefixes them with where the block sits (Prefix).
package fielderr
