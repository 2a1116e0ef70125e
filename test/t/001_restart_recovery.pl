# Restart with shared_preload_libraries, and recovery after a backend is
# killed in the middle of an inference and of an uncommitted model change:
# the server reinitializes, the stored models are intact, the half-done
# replacement is gone, progress slots are clean and scoring works.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use OnnxTapUtil;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = onnx_node('restart');
my $mlp = fixture_sql('mlp.onnx');
my $linear = fixture_sql('linear.onnx');
$node->safe_psql('postgres', "SELECT onnx_create_model('m', $mlp)");
$node->safe_psql('postgres', "SELECT onnx_create_model('slow', " . fixture_sql('slow.onnx') . ")");
my $score = "SELECT onnx_predict('m', '{1,2,3,4}')";
my $before = $node->safe_psql('postgres', $score);
like($before, qr/^\{[-0-9.e,]+\}$/, 'scores before the restart');
is($node->safe_psql('postgres', 'SELECT count(*) FROM onnx_score_progress()'), '0',
	'progress tracking is available when preloaded');

# TAP nodes do not restart after a crash unless told to
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->restart;
is($node->safe_psql('postgres', $score), $before, 'same answer after a restart');

# a backend killed during a long inference, another in an uncommitted replace
my $busy = $node->background_psql('postgres', on_error_stop => 0);
my $busy_pid = $busy->query_safe('SELECT pg_backend_pid()');
$busy->query_until(qr/started/, q(\echo started
SELECT onnx_predict('slow', array_fill(0.001::float4, ARRAY[2000, 2000])) IS NULL;
));
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe('BEGIN');
$writer->query_safe("SELECT onnx_replace_model('m', $linear)");
sleep(1);
kill 'KILL', $busy_pid;
# both sessions lost their server; their psql processes just end
eval { $busy->quit; };
eval { $writer->quit; };
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
ok($node->log_contains('terminated by signal 9'), 'the killed backend made the server reinitialize');
is($node->safe_psql('postgres', $score), $before, 'the uncommitted replacement is gone after recovery');
is($node->safe_psql('postgres', 'SELECT count(*) FROM onnx_models'), '2', 'the stored models are intact');
is($node->safe_psql('postgres', 'SELECT count(*) FROM onnx_score_progress()'), '0',
	'no progress entry survives the crash');
$node->safe_psql('postgres', "SELECT onnx_replace_model('m', $linear)");
isnt($node->safe_psql('postgres', $score), $before, 'models can be replaced after recovery');

$node->stop;
done_testing();
