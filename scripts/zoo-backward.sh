#!/bin/sh
# torchvision's test_forward_backward for every zoo model (test/models/zoo-backward.test.ts with
# FEATUREFX_ZOO_BACKWARD=all), one process per model so that memory is returned between models.
# About 15 minutes on 2 cores; `npm test` runs a small subset. Needs `npm run build` (for the list).
failed=""
for model in $(node dist/cli/main.js models); do
  FEATUREFX_ZOO_BACKWARD=all node --import tsx --test --test-reporter=dot \
    --test-name-pattern="^$model:" test/models/zoo-backward.test.ts || failed="$failed $model"
done
if [ -n "$failed" ]; then echo "failed:$failed"; exit 1; fi
echo "all zoo models passed"
