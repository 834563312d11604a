// Package migrations embeds the state store's SQL schema migrations, one
// directory per backend (postgres/, sqlite/), in goose's SQL format: a file
// per version named NNNNN_name.sql with "-- +goose Up" and "-- +goose Down"
// sections. Each version runs in one transaction together with the row that
// records it, so a crash mid-migration leaves the previous version intact.
//
// Rules for new migrations: never edit a released file, add the next number;
// keep both backends at the same version numbers so `syncd migrate` means
// the same thing on either; a binary refuses a database whose version is
// newer than its newest file (state.ErrSchemaTooNew).
package migrations
