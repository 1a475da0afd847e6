package main

import "testing"

// removeRelease runs the tests. On Windows no test builds certctl as
// released, so there is nothing to remove.
type removeRelease struct{ m *testing.M }

func (r removeRelease) Run() int { return r.m.Run() }
