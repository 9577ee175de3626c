#!/bin/sh
# The example's application: prints what its "dependencies" are.
echo "example app; dependencies: $(ls /app/node_modules)"
