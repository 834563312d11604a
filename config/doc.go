// Package config loads syncd's configuration file: defaults, then the YAML
// file (unknown keys rejected), then environment overrides (go-envconfig),
// then secrets from files, then validation of every field at once with its
// YAML path, then compilation of each job's mapping. A bad config fails at
// start, not at 03:00.
//
// Each component owns its block and its validation (pingone.Config,
// csvsource.Config, ldapsource.Config, mapper.Config); this package composes
// them, resolves paths relative to the config file, and reads secrets.
package config
