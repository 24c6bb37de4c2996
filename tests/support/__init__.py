"""Test code the test modules share: crawls and the in-process CLI, stores, web archives, faults, hostile inputs."""
