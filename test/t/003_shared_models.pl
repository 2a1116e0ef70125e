# Shared model memory around its edges: without shared_preload_libraries
# models are private and statistics say how to turn them on; with a small
# onnx.shared_memory, onnx.prewarm loads what fits at server start and a
# model that does not fit is scored from a private copy.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use OnnxTapUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('shared');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION onnx');
$node->safe_psql('postgres', "SELECT onnx_create_model('small', " . fixture_sql('mlp.onnx') . ")");
# 4 MB of weights, more than the 2 MB region below
$node->safe_psql('postgres', "SELECT onnx_create_model('big', " . matmul_model_sql(1024, 1024) . ")");
my $score = "SELECT array_length(onnx_predict('small', '{1,2,3,4}'), 1)";

is($node->safe_psql('postgres', $score), '3', 'scores without shared_preload_libraries');
is($node->safe_psql('postgres', 'SELECT size FROM onnx_shared_memory()'), '0',
	'no shared model memory then');
is($node->safe_psql('postgres', "$score; SELECT shared FROM onnx_cache_info() WHERE model = 'small'"),
	"3\nf", 'the model is private');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM onnx_stat_models');
like($err, qr/shared_preload_libraries/, 'statistics say how to turn them on');

$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'onnx'
onnx.shared_memory = '2MB'
onnx.prewarm = 'postgres:small, postgres:big'
));
$node->restart;
$node->poll_query_until('postgres', 'SELECT models > 0 FROM onnx_shared_memory()')
  or die 'prewarm did not load anything';
is($node->safe_psql('postgres', 'SELECT models FROM onnx_shared_memory()'), '1',
	'onnx.prewarm loaded the model that fits before any connection used it');
ok($node->log_contains('could not prewarm ONNX model "big"|onnx prewarm: 2 model'),
	'the worker reports what it did');
is($node->safe_psql('postgres', "$score; SELECT shared FROM onnx_cache_info() WHERE model = 'small'"),
	"3\nt", 'a connection maps the prewarmed model');
is($node->safe_psql('postgres',
		"SELECT onnx_predict('big', array_fill(0.1::float4, ARRAY[1024])) IS NOT NULL; "
		  . "SELECT shared FROM onnx_cache_info() WHERE model = 'big'"),
	"t\nf", 'a model that does not fit is scored from a private copy');
is($node->safe_psql('postgres', "SELECT prepares > 0 FROM onnx_stat_models WHERE model = 'small'"),
	't', 'statistics count the prewarm');

$node->stop;
done_testing();
