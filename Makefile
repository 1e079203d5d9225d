# Two entry points (see README): `make main` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: main test test-slow

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is pinned to the wheels this project is tested with; any torch>=2.1 works.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

# main: prepare nuclei2d, train the nuclei bundle with a short CPU schedule (a reduced-width Swin-UMamba, a few
# minutes on 2 cores), evaluate on the test split, run inference on the test images; every step is a
# `python -m monai.bundle run` of bundle/swin_umamba_nuclei_segmentation with command-line overrides.
NUCLEI_BUNDLE := bundle/swin_umamba_nuclei_segmentation
NUCLEI_DATA ?= data/nuclei2d
MAIN_EPOCHS ?= 3
MAIN_NET := --network_def\#feature_size 16 --network_def\#dims "[32,64,128,256]" --network_def\#depths "[1,1,1,1]"
MAIN_ARGS := --bundle_root $(NUCLEI_BUNDLE) --dataset_dir $(NUCLEI_DATA) --patch_size "[128,128]" --num_workers 0 $(MAIN_NET)
MAIN_RUN := $(PY) -m monai.bundle run --meta_file $(NUCLEI_BUNDLE)/configs/metadata.json \
	--logging_file $(NUCLEI_BUNDLE)/configs/logging.conf

main: $(STAMP)
	$(PY) scripts/prepare_data.py nuclei2d --out $(NUCLEI_DATA)
	$(MAIN_RUN) --config_file $(NUCLEI_BUNDLE)/configs/train.json $(MAIN_ARGS) \
		--epochs $(MAIN_EPOCHS) --val_interval $(MAIN_EPOCHS) --warmup_epochs 1 --batch_size 2 --num_samples 2
	$(MAIN_RUN) --config_file "['$(NUCLEI_BUNDLE)/configs/train.json','$(NUCLEI_BUNDLE)/configs/evaluate.json']" \
		$(MAIN_ARGS)
	mkdir -p $(NUCLEI_BUNDLE)/outputs/test_images
	$(PY) -c "import json,os,sys; d=sys.argv[1]; [os.path.lexists(t) or os.symlink(os.path.abspath(os.path.join(d, c['image'])), t) for c in json.load(open(os.path.join(d, 'dataset.json')))['test'] for t in [os.path.join(sys.argv[2], os.path.basename(c['image']))]]" $(NUCLEI_DATA) $(NUCLEI_BUNDLE)/outputs/test_images
	$(MAIN_RUN) --config_file $(NUCLEI_BUNDLE)/configs/inference.json $(MAIN_ARGS) \
		--input_dir $(NUCLEI_BUNDLE)/outputs/test_images --output_dir $(NUCLEI_BUNDLE)/outputs/predictions
	@$(PY) -c "import json,sys; b=sys.argv[1]; m=json.load(open(b + '/eval/metrics_summary.json')); \
	print('\n== nuclei2d test split (%d cases): Dice %.4f | NSD@%gpx %.4f | instance F1@IoU0.5 %.4f' % (m['num_cases'], \
	m['test_mean_dice'], m['nsd_tolerance_pixels'], m['test_nsd'], m['test_instance_f1'])); \
	print('per-case metrics : ' + b + '/eval/*_raw.csv, summary: ' + b + '/eval/metrics_summary.json'); \
	print('figure           : ' + b + '/eval/cases.png'); \
	print('checkpoint       : ' + b + '/models/model.pt (best), ' + b + '/models/checkpoint_last.pt (resume)'); \
	print('predictions      : ' + b + '/outputs/predictions/*_seg.nii.gz; TensorBoard: ' + b + '/eval')" $(NUCLEI_BUNDLE)

test: $(STAMP)
	$(PY) -m pytest -m "not slow and not gpu" -q tests

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow" -q tests
